package imds

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/internal/pattern"
)

// Instance describes the emulated EC2 instance. New fills zero fields:
//
//	ID                 i-0123456789abcdef0
//	Type               t3.micro
//	AMIID              ami-0123456789abcdef0
//	Architecture       x86_64
//	LocalIPv4          10.0.0.1
//	Hostname           ip-10-0-0-1.ec2.internal (from LocalIPv4 and Region, as EC2 names hosts)
//	Region             us-east-1, or AvailabilityZone without its letter
//	AvailabilityZone   Region + "a"
//	AvailabilityZoneID the region's short name + "-az" + the zone letter's place: use1-az1
//	AccountID          123456789012
//	PendingTime        the time New was called, to the second
//	MAC                0e:00 + LocalIPv4 in hex: 0e:00:0a:00:00:01
//	InterfaceID        eni-0123456789abcdef0
//	SubnetID           subnet-0123456789abcdef0
//	VPCID              vpc-0123456789abcdef0
//	PublicHostname     from PublicIPv4 as EC2 names it, when PublicIPv4 is set
//
// PublicIPv4, Tags and UserData have no default: without them
// public-ipv4/public-hostname, tags/instance/ and user-data are not served.
type Instance struct {
	ID, Type, AMIID, Hostname, LocalIPv4, Region, AvailabilityZone, AccountID string
	PendingTime                                                               time.Time
	// Architecture is the identity document's architecture (x86_64, arm64).
	Architecture string

	AvailabilityZoneID string
	// PublicIPv4 and PublicHostname are the instance's public address and
	// name. "" means none.
	PublicIPv4, PublicHostname string
	// MAC, InterfaceID, SubnetID and VPCID describe the primary network
	// interface under network/interfaces/macs/MAC/.
	MAC, InterfaceID, SubnetID, VPCID string
	// Tags are the instance tags, served under tags/instance/ while
	// instance metadata tags are on. Keys follow EC2's rule for tags in
	// metadata: letters, digits and + - = . , _ : @, no spaces or "/", and
	// not ".", ".." or "_index"; at most 128 characters.
	Tags map[string]string
	// UserData is served at /latest/user-data as application/octet-stream.
	// Nil or empty means none (404).
	UserData []byte
}

// Immutable after package initialisation and safe for concurrent use.
var tagKeyRe = pattern.MustCompile(`^[A-Za-z0-9+\-=.,_:@]+$`, 1, 128)

func (in Instance) withDefaults(now time.Time) (Instance, error) {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&in.ID, "i-0123456789abcdef0")
	def(&in.Type, "t3.micro")
	def(&in.AMIID, "ami-0123456789abcdef0")
	def(&in.Architecture, "x86_64")
	def(&in.AccountID, "123456789012")
	def(&in.LocalIPv4, "10.0.0.1")
	def(&in.InterfaceID, "eni-0123456789abcdef0")
	def(&in.SubnetID, "subnet-0123456789abcdef0")
	def(&in.VPCID, "vpc-0123456789abcdef0")
	ip, err := netip.ParseAddr(in.LocalIPv4)
	if err != nil || !ip.Is4() {
		return in, fmt.Errorf("imds: Instance.LocalIPv4 %q is not an IPv4 address", in.LocalIPv4)
	}
	switch {
	case in.Region == "" && in.AvailabilityZone == "":
		in.Region, in.AvailabilityZone = "us-east-1", "us-east-1a"
	case in.Region == "":
		in.Region = strings.TrimRight(in.AvailabilityZone, "abcdefghijklmnopqrstuvwxyz")
	case in.AvailabilityZone == "":
		in.AvailabilityZone = in.Region + "a"
	}
	if in.Region == "" {
		return in, fmt.Errorf("imds: cannot derive a region from Instance.AvailabilityZone %q", in.AvailabilityZone)
	}
	if in.AvailabilityZoneID == "" {
		in.AvailabilityZoneID = zoneID(in.Region, in.AvailabilityZone)
	}
	if in.Hostname == "" {
		// EC2's private DNS names: ip-a-b-c-d.ec2.internal in us-east-1,
		// ip-a-b-c-d.REGION.compute.internal elsewhere.
		in.Hostname = "ip-" + strings.ReplaceAll(in.LocalIPv4, ".", "-")
		if in.Region == "us-east-1" {
			in.Hostname += ".ec2.internal"
		} else {
			in.Hostname += "." + in.Region + ".compute.internal"
		}
	}
	if in.PublicIPv4 != "" {
		pub, err := netip.ParseAddr(in.PublicIPv4)
		if err != nil || !pub.Is4() {
			return in, fmt.Errorf("imds: Instance.PublicIPv4 %q is not an IPv4 address", in.PublicIPv4)
		}
		if in.PublicHostname == "" {
			// ec2-a-b-c-d.compute-1.amazonaws.com in us-east-1,
			// ec2-a-b-c-d.REGION.compute.amazonaws.com elsewhere.
			in.PublicHostname = "ec2-" + strings.ReplaceAll(in.PublicIPv4, ".", "-")
			if in.Region == "us-east-1" {
				in.PublicHostname += ".compute-1.amazonaws.com"
			} else {
				in.PublicHostname += "." + in.Region + ".compute.amazonaws.com"
			}
		}
	}
	if in.MAC == "" {
		a := ip.As4()
		in.MAC = fmt.Sprintf("0e:00:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3])
	}
	hw, err := net.ParseMAC(in.MAC)
	if err != nil || len(hw) != 6 {
		return in, fmt.Errorf("imds: Instance.MAC %q is not a MAC address such as 0e:00:0a:00:00:01", in.MAC)
	}
	in.MAC = hw.String() // lower case, colons, as IMDS writes it
	// Copies, so that the caller changing its map or slice changes nothing here.
	in.Tags = maps.Clone(in.Tags)
	in.UserData = slices.Clone(in.UserData)
	for k, v := range in.Tags {
		if !tagKeyRe.MatchString(k) || k == "." || k == ".." || k == "_index" {
			return in, fmt.Errorf("imds: Instance.Tags key %q cannot be served in instance metadata: use letters, digits and + - = . , _ : @ (no spaces or /), at most 128 characters, and not \".\", \"..\" or \"_index\"", k)
		}
		if len(v) > 256 {
			return in, fmt.Errorf("imds: Instance.Tags[%q] is %d characters; tag values are at most 256", k, len(v))
		}
	}
	if in.PendingTime.IsZero() {
		in.PendingTime = now.UTC().Truncate(time.Second)
	}
	return in, nil
}

// zoneID makes an availability zone id such as use1-az1 from a region and
// zone: EC2 assigns them per account; this is a stable stand-in.
func zoneID(region, zone string) string {
	short := map[string]string{
		"east": "e", "west": "w", "north": "n", "south": "s", "central": "c",
		"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
		"gov": "g", "iso": "i", "isob": "ib",
	}
	var b strings.Builder
	for i, p := range strings.Split(region, "-") {
		if s, ok := short[p]; ok && i > 0 {
			b.WriteString(s)
		} else {
			b.WriteString(p)
		}
	}
	n := 1
	if suffix := strings.TrimPrefix(zone, region); len(suffix) > 0 {
		if c := suffix[len(suffix)-1]; c >= 'a' && c <= 'z' {
			n = int(c-'a') + 1
		}
	}
	return fmt.Sprintf("%s-az%d", b.String(), n)
}

// bodies holds every response body that does not change while the server
// runs, rendered once in New.
type bodies struct {
	latest, dynamic, identity, identityDocument []byte
	// metaData is the meta-data listing for each combination of
	// metaIAM|metaIdentity|metaTags.
	metaData                                          [8][]byte
	placement, iam, network, interfaces, macs, macDir []byte
	identityCreds, identityEC2, identityCredsList     []byte
	tags, tagKeys                                     []byte
	macLeaves                                         map[string][]byte
	// pkcs7, rsa2048 and signature are set by sign; nil when unsigned.
	pkcs7, rsa2048, signature []byte
}

// Flags selecting a meta-data listing.
const (
	metaIAM = 1 << iota
	metaIdentity
	metaTags
)

// listing joins entries the way IMDS lists a directory: one per line,
// sub-directories ending in "/", and no newline after the last one.
func listing(entries ...string) []byte { return []byte(strings.Join(entries, "\n")) }

func renderBodies(in Instance) bodies {
	b := bodies{
		dynamic:           listing("instance-identity/"),
		identity:          listing("document"),
		identityDocument:  identityDocument(in),
		placement:         listing("availability-zone", "availability-zone-id", "region"),
		iam:               listing("info", "security-credentials/"),
		network:           listing("interfaces/"),
		interfaces:        listing("macs/"),
		macs:              listing(in.MAC + "/"),
		identityCreds:     listing("ec2/"),
		identityEC2:       listing("info", "security-credentials/"),
		identityCredsList: listing("ec2-instance"),
		tags:              listing("instance/"),
		tagKeys:           listing(slices.Sorted(maps.Keys(in.Tags))...),
	}
	if len(in.UserData) > 0 {
		b.latest = listing("dynamic", "meta-data", "user-data")
	} else {
		b.latest = listing("dynamic", "meta-data")
	}
	for flags := range len(b.metaData) {
		e := []string{"ami-id", "hostname"}
		if flags&metaIAM != 0 {
			e = append(e, "iam/")
		}
		if flags&metaIdentity != 0 {
			e = append(e, "identity-credentials/")
		}
		e = append(e, "instance-id", "instance-type", "local-hostname", "local-ipv4", "mac", "network/", "placement/")
		if in.PublicIPv4 != "" {
			e = append(e, "public-hostname", "public-ipv4")
		}
		if flags&metaTags != 0 {
			e = append(e, "tags/")
		}
		b.metaData[flags] = listing(e...)
	}
	leaves := map[string]string{
		"device-number":  "0",
		"interface-id":   in.InterfaceID,
		"local-hostname": in.Hostname,
		"local-ipv4s":    in.LocalIPv4,
		"mac":            in.MAC,
		"owner-id":       in.AccountID,
		"subnet-id":      in.SubnetID,
		"vpc-id":         in.VPCID,
	}
	if in.PublicIPv4 != "" {
		leaves["public-hostname"] = in.PublicHostname
		leaves["public-ipv4s"] = in.PublicIPv4
	}
	b.macLeaves = make(map[string][]byte, len(leaves))
	for k, v := range leaves {
		b.macLeaves[k] = []byte(v)
	}
	b.macDir = listing(slices.Sorted(maps.Keys(leaves))...)
	return b
}

// identityDocument renders /latest/dynamic/instance-identity/document: the
// fifteen keys of the EC2 User Guide ("Instance identity documents"), with
// JSON null for the ones an emulated instance has no value for, laid out
// as real IMDS does.
func identityDocument(in Instance) []byte {
	b := []byte("{\n")
	str := func(k, v string) {
		b = append(b, `  "`...)
		b = append(b, k...)
		b = append(b, `" : `...)
		b = appendJSONString(b, v)
		b = append(b, ",\n"...)
	}
	null := func(k string) {
		b = append(b, `  "`...)
		b = append(b, k...)
		b = append(b, "\" : null,\n"...)
	}
	str("accountId", in.AccountID)
	str("architecture", in.Architecture)
	str("availabilityZone", in.AvailabilityZone)
	null("billingProducts")
	null("devpayProductCodes")
	null("marketplaceProductCodes")
	str("imageId", in.AMIID)
	str("instanceId", in.ID)
	str("instanceType", in.Type)
	null("kernelId")
	str("pendingTime", string(appendTimestamp(nil, in.PendingTime)))
	str("privateIp", in.LocalIPv4)
	null("ramdiskId")
	str("region", in.Region)
	b = append(b, `  "version" : "2017-09-30"`+"\n}"...)
	return b
}

func (s *Server) metadataRoutes(handle func(string, kind, serveFunc)) {
	static := func(route string, body []byte) {
		handle(route, kindMetadata, func(w http.ResponseWriter, r *http.Request, _ string) int {
			return writeText(w, r, body)
		})
	}
	// optional serves body, or 404 when it is empty.
	optional := func(route string, body []byte) {
		handle(route, kindMetadata, func(w http.ResponseWriter, r *http.Request, _ string) int {
			if len(body) == 0 {
				return writeError(w, r, http.StatusNotFound)
			}
			return writeText(w, r, body)
		})
	}
	b := &s.bodies
	in := &s.inst
	static(routeLatest, b.latest)
	handle(routeUserData, kindMetadata, s.serveUserData)
	handle(routeMetaData, kindMetadata, s.serveMetaData)
	static(routeAMIID, []byte(in.AMIID))
	static(routeHostname, []byte(in.Hostname))
	static(routeInstanceID, []byte(in.ID))
	static(routeInstanceType, []byte(in.Type))
	static(routeLocalHostname, []byte(in.Hostname))
	static(routeLocalIPv4, []byte(in.LocalIPv4))
	static(routeMAC, []byte(in.MAC))
	optional(routePublicIPv4, []byte(in.PublicIPv4))
	optional(routePublicHostname, []byte(in.PublicHostname))
	static(routePlacement, b.placement)
	static(routeAvailabilityZone, []byte(in.AvailabilityZone))
	static(routeAvailabilityZID, []byte(in.AvailabilityZoneID))
	static(routeRegion, []byte(in.Region))
	static(routeNetwork, b.network)
	static(routeInterfaces, b.interfaces)
	static(routeMACs, b.macs)
	handle(routeMACDir, kindMetadata, s.serveMACDir)
	handle(routeMACLeaf, kindMetadata, s.serveMACLeaf)
	handle(routeTags, kindMetadata, s.serveTags)
	handle(routeTagsInstance, kindMetadata, s.serveTags)
	handle(routeTag, kindMetadata, s.serveTags)
	static(routeDynamic, b.dynamic)
	static(routeIdentity, b.identity)
	static(routeIdentityDocument, b.identityDocument)
	optional(routeIdentityPKCS7, b.pkcs7)
	optional(routeIdentityRSA2048, b.rsa2048)
	optional(routeIdentitySignature, b.signature)
}

// serveMetaData lists /latest/meta-data/, with iam/ only while a role is
// attached, identity-credentials/ while there are identity credentials and
// tags/ while instance metadata tags are on (EC2 User Guide, "Instance
// metadata categories").
func (s *Server) serveMetaData(w http.ResponseWriter, r *http.Request, _ string) int {
	flags := 0
	if _, ok := s.current(); ok {
		flags |= metaIAM
	}
	if _, ok := s.currentIdentity(); ok {
		flags |= metaIdentity
	}
	if s.tags.Load() {
		flags |= metaTags
	}
	return writeText(w, r, s.bodies.metaData[flags])
}

// serveUserData answers /latest/user-data: the bytes as given, as
// application/octet-stream (as in captures from real instances), or 404
// when the instance has none.
func (s *Server) serveUserData(w http.ResponseWriter, r *http.Request, _ string) int {
	if len(s.inst.UserData) == 0 {
		return writeError(w, r, http.StatusNotFound)
	}
	return writeBody(w, r, http.StatusOK, headerOctetStream, s.inst.UserData)
}

const macsPrefix = "/latest/meta-data/network/interfaces/macs/"

// serveMACDir lists network/interfaces/macs/MAC/ for the instance's MAC.
func (s *Server) serveMACDir(w http.ResponseWriter, r *http.Request, _ string) int {
	if strings.TrimPrefix(r.URL.Path, macsPrefix) != s.inst.MAC {
		return writeError(w, r, http.StatusNotFound)
	}
	return writeText(w, r, s.bodies.macDir)
}

// serveMACLeaf answers network/interfaces/macs/MAC/LEAF.
func (s *Server) serveMACLeaf(w http.ResponseWriter, r *http.Request, _ string) int {
	mac, leaf, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, macsPrefix), "/")
	body, ok := s.bodies.macLeaves[leaf]
	if mac != s.inst.MAC || !ok {
		return writeError(w, r, http.StatusNotFound)
	}
	return writeText(w, r, body)
}

const tagsPrefix = "/latest/meta-data/tags/instance/"

// serveTags answers tags/, tags/instance/ (the keys, sorted) and
// tags/instance/KEY (the value) while instance metadata tags are on.
func (s *Server) serveTags(w http.ResponseWriter, r *http.Request, _ string) int {
	if !s.tags.Load() {
		return writeError(w, r, http.StatusNotFound)
	}
	switch p := r.URL.Path; {
	case p == routeTags:
		return writeText(w, r, s.bodies.tags)
	case p == routeTagsInstance:
		return writeText(w, r, s.bodies.tagKeys)
	default:
		v, ok := s.inst.Tags[strings.TrimPrefix(p, tagsPrefix)]
		if !ok {
			return writeError(w, r, http.StatusNotFound)
		}
		return writeText(w, r, []byte(v))
	}
}

// timestampLayout is the IMDS timestamp: UTC, whole seconds, a literal Z.
// botocore parses Expiration with exactly this strptime format.
const timestampLayout = "2006-01-02T15:04:05Z"

func appendTimestamp(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, timestampLayout)
}

// appendJSONString appends s as a JSON string. The fast path covers the
// printable ASCII that keys, tokens and ids are made of.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
