package imds

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Instance describes the emulated EC2 instance. New fills zero fields:
//
//	ID               i-0123456789abcdef0
//	Type             t3.micro
//	AMIID            ami-0123456789abcdef0
//	Architecture     x86_64
//	LocalIPv4        10.0.0.1
//	Hostname         ip-10-0-0-1.ec2.internal (from LocalIPv4 and Region, as EC2 names hosts)
//	Region           us-east-1, or AvailabilityZone without its letter
//	AvailabilityZone Region + "a"
//	AccountID        123456789012
//	PendingTime      the time New was called, to the second
type Instance struct {
	ID, Type, AMIID, Hostname, LocalIPv4, Region, AvailabilityZone, AccountID string
	PendingTime                                                               time.Time
	// Architecture is the identity document's architecture (x86_64, arm64).
	Architecture string
}

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
	if in.PendingTime.IsZero() {
		in.PendingTime = now.UTC().Truncate(time.Second)
	}
	return in, nil
}

// bodies holds every response body that does not change while the server
// runs, rendered once in New.
type bodies struct {
	latest, dynamic, identity, identityDocument []byte
	metaData, metaDataWithIAM, placement, iam   []byte
}

// listing joins entries the way IMDS lists a directory: one per line,
// sub-directories ending in "/", and no newline after the last one.
func listing(entries ...string) []byte { return []byte(strings.Join(entries, "\n")) }

func renderBodies(in Instance) bodies {
	meta := func(iam bool) []byte {
		e := []string{"ami-id", "hostname"}
		if iam {
			e = append(e, "iam/")
		}
		e = append(e, "instance-id", "instance-type", "local-hostname", "local-ipv4", "placement/")
		return listing(e...)
	}
	return bodies{
		latest:           listing("dynamic", "meta-data"),
		dynamic:          listing("instance-identity/"),
		identity:         listing("document"),
		identityDocument: identityDocument(in),
		metaData:         meta(false),
		metaDataWithIAM:  meta(true),
		placement:        listing("availability-zone", "region"),
		iam:              listing("info", "security-credentials/"),
	}
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

func (s *Server) metadataRoutes(handle func(string, kind, func(http.ResponseWriter, *http.Request) int)) {
	static := func(route string, body []byte) {
		handle(route, kindMetadata, func(w http.ResponseWriter, r *http.Request) int {
			return writeText(w, r, body)
		})
	}
	b := &s.bodies
	static(routeLatest, b.latest)
	handle(routeMetaData, kindMetadata, s.serveMetaData)
	static(routeAMIID, []byte(s.inst.AMIID))
	static(routeHostname, []byte(s.inst.Hostname))
	static(routeInstanceID, []byte(s.inst.ID))
	static(routeInstanceType, []byte(s.inst.Type))
	static(routeLocalHostname, []byte(s.inst.Hostname))
	static(routeLocalIPv4, []byte(s.inst.LocalIPv4))
	static(routePlacement, b.placement)
	static(routeAvailabilityZone, []byte(s.inst.AvailabilityZone))
	static(routeRegion, []byte(s.inst.Region))
	static(routeDynamic, b.dynamic)
	static(routeIdentity, b.identity)
	static(routeIdentityDocument, b.identityDocument)
}

// serveMetaData lists /latest/meta-data/, with iam/ only while a role is
// attached (EC2 User Guide, "Instance metadata categories").
func (s *Server) serveMetaData(w http.ResponseWriter, r *http.Request) int {
	if _, ok := s.current(); ok {
		return writeText(w, r, s.bodies.metaDataWithIAM)
	}
	return writeText(w, r, s.bodies.metaData)
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
