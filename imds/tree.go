package imds

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// This file renders the parts of the metadata tree that do not change
// while the server runs. Sources: EC2 User Guide, "Instance metadata
// categories" and "Dynamic data categories" (what each category holds and
// when it is present), and "Access instance metadata for an EC2 instance"
// (the version list, and that a listing has one entry a line, directories
// ending in "/"). Real IMDS writes no newline after the last line of a
// listing or a multi-line value, and none after a single value.

// Versions returns the metadata builds GET / lists before "latest",
// oldest first: the list in the EC2 User Guide ("Get the available
// versions of the instance metadata") and the later builds (2021-07-15
// added tags/instance/). Each one serves the same tree as latest.
func Versions() []string { return slices.Clone(versions[:]) }

// versions is sorted, for binary search. Immutable after package
// initialisation and safe for concurrent use.
var versions = [...]string{
	"1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
	"2008-02-01", "2008-09-01", "2009-04-04", "2011-01-01", "2011-05-01", "2012-01-12",
	"2014-02-25", "2014-11-05", "2015-10-20", "2016-04-19", "2016-06-30", "2016-09-02",
	"2018-03-28", "2018-08-17", "2018-09-24", "2019-10-01", "2020-10-27", "2021-01-03",
	"2021-03-23", "2021-07-15", "2022-07-09", "2022-09-24",
}

// docs are the instance's documents that do not change while the server
// runs: rendered on its first request that needs one ([Server.docs]), so
// that an instance never asked for more than its credentials holds none.
// The listings the same for every instance are the Routes'.
type docs struct {
	identityDocument []byte
	// static maps the paths (under /latest, without a trailing slash) of
	// the instance's fixed leaves and listings to their bodies.
	static map[string][]byte
	// top are the entries of the meta-data listing present at all times,
	// directories ending in "/". metaData is the listing for each
	// combination of the meta* flags, each rendered on first use.
	top      []string
	metaData [1 << metaFlags]atomic.Pointer[[]byte]
	tagKeys  []byte
}

// docs returns the instance's documents, rendering them the first time.
// Two first requests at once may both render them; one copy is kept.
func (s *Server) docs() *docs {
	if d := s.rendered.Load(); d != nil {
		return d
	}
	in := s.instance()
	s.rendered.CompareAndSwap(nil, renderDocs(&in))
	return s.rendered.Load()
}

// metaDataListing is the meta-data listing with the categories flags
// selects.
func (d *docs) metaDataListing(flags int) []byte {
	if b := d.metaData[flags].Load(); b != nil {
		return *b
	}
	e := slices.Clone(d.top)
	for _, f := range []struct {
		flag int
		name string
	}{{metaIAM, "iam/"}, {metaIdentity, "identity-credentials/"}, {metaTags, "tags/"}, {metaSpot, "spot/"}} {
		if flags&f.flag != 0 {
			e = append(e, f.name)
		}
	}
	slices.SortFunc(e, func(a, b string) int { return strings.Compare(strings.TrimSuffix(a, "/"), strings.TrimSuffix(b, "/")) })
	b := listing(e...)
	d.metaData[flags].CompareAndSwap(nil, &b)
	return *d.metaData[flags].Load()
}

// Flags selecting a meta-data listing: categories present only some of
// the time.
const (
	metaIAM      = 1 << iota // a role is attached
	metaIdentity             // identity credentials exist
	metaTags                 // instance metadata tags are on
	metaSpot                 // a Spot interruption notice is posted
	metaFlags    = iota
)

// listing joins entries the way IMDS lists a directory: one per line,
// sub-directories ending in "/", and no newline after the last one.
func listing(entries ...string) []byte { return []byte(strings.Join(entries, "\n")) }

// Paths of the tree's roots.
const (
	metaDataPrefix = "/latest/meta-data/"
	dynamicPrefix  = "/latest/dynamic/"
)

func renderDocs(in *Instance) *docs {
	d := &docs{
		identityDocument: identityDocument(in),
		tagKeys:          listing(slices.Sorted(maps.Keys(in.Tags))...),
		static:           map[string][]byte{},
	}
	md := metaDataLeaves(in)
	top := map[string]bool{} // the top-level entries: name -> directory
	for p, v := range md {
		name, rest, dir := strings.Cut(p, "/")
		top[name] = top[name] || dir
		d.static[metaDataPrefix+p] = []byte(v)
		for dir { // list every directory on the way down
			parent := name
			name, rest, dir = strings.Cut(rest, "/")
			addEntry(d.static, metaDataPrefix+parent, name, dir)
			name = parent + "/" + name
		}
	}
	if in.PublicKey != "" {
		// Keys are listed as INDEX=NAME; INDEX/ lists their formats.
		d.static[metaDataPrefix+"public-keys"] = listing("0=" + in.KeyName)
	}
	// Directories whose contents change at run time: events/ (notices),
	// autoscaling/ (the lifecycle state), spot/, iam/, identity-credentials/
	// and tags/ are served by their own handlers.
	top["events"] = true
	if in.AutoScaling {
		top["autoscaling"] = true
	}
	for name, dir := range top {
		if dir {
			name += "/"
		}
		d.top = append(d.top, name)
	}
	d.static["/latest/dynamic"] = listing("fws/", "instance-identity/")
	d.static[dynamicPrefix+"fws"] = listing("instance-monitoring")
	monitoring := "disabled"
	if in.DetailedMonitoring {
		monitoring = "enabled"
	}
	d.static[dynamicPrefix+"fws/instance-monitoring"] = []byte(monitoring)
	return d
}

// addEntry adds name (a directory when dir) to the listing at path, keeping
// it sorted and without duplicates.
func addEntry(static map[string][]byte, path, name string, dir bool) {
	if dir {
		name += "/"
	}
	var entries []string
	if cur, ok := static[path]; ok {
		entries = strings.Split(string(cur), "\n")
	}
	if slices.Contains(entries, name) {
		return
	}
	entries = append(entries, name)
	slices.SortFunc(entries, compareEntries)
	static[path] = listing(entries...)
}

// compareEntries orders a listing as IMDS does: by name, with numbered
// entries (ebs2, ebs10) in numeric order.
func compareEntries(a, b string) int {
	pa, na := splitNumber(strings.TrimSuffix(a, "/"))
	pb, nb := splitNumber(strings.TrimSuffix(b, "/"))
	if pa != pb || na < 0 || nb < 0 {
		return strings.Compare(a, b)
	}
	return na - nb
}

func splitNumber(s string) (string, int) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) || i == 0 {
		return s, -1
	}
	n, err := strconv.Atoi(s[i:])
	if err != nil {
		return s, -1
	}
	return s[:i], n
}

// metaDataLeaves maps the path of every fixed leaf under meta-data/ to its
// value. Multi-valued leaves hold one value a line.
func metaDataLeaves(in *Instance) map[string]string {
	lines := func(v ...string) string { return strings.Join(v, "\n") }
	m := map[string]string{
		"ami-id":                         in.AMIID,
		"ami-launch-index":               strconv.Itoa(in.AMILaunchIndex),
		"ami-manifest-path":              in.AMIManifestPath,
		"block-device-mapping/ami":       in.RootDevice,
		"block-device-mapping/root":      in.RootDevice,
		"hostname":                       in.Hostname,
		"instance-action":                "none",
		"instance-id":                    in.ID,
		"instance-life-cycle":            in.LifeCycle,
		"instance-type":                  in.Type,
		"local-hostname":                 in.Hostname,
		"local-ipv4":                     in.LocalIPv4,
		"mac":                            in.MAC,
		"metrics/vhostmd":                `<?xml version="1.0" encoding="UTF-8"?>`,
		"placement/availability-zone":    in.AvailabilityZone,
		"placement/availability-zone-id": in.AvailabilityZoneID,
		"placement/region":               in.Region,
		"profile":                        "default-hvm",
		"reservation-id":                 in.ReservationID,
		"security-groups":                lines(in.SecurityGroups...),
		"services/domain":                domainOf(in.Region),
		"services/partition":             partitionOf(in.Region),
		"system":                         "nitro",
	}
	for i, d := range in.EBS {
		m["block-device-mapping/ebs"+strconv.Itoa(i+1)] = d
	}
	for i, d := range in.Ephemeral {
		m["block-device-mapping/ephemeral"+strconv.Itoa(i)] = d
	}
	opt := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	opt("kernel-id", in.KernelID)
	opt("ramdisk-id", in.RamdiskID)
	opt("product-codes", lines(in.ProductCodes...))
	opt("placement/group-name", in.PlacementGroup)
	opt("placement/host-id", in.HostID)
	if in.PartitionNumber > 0 {
		m["placement/partition-number"] = strconv.Itoa(in.PartitionNumber)
	}
	opt("public-hostname", in.PublicHostname)
	opt("public-ipv4", in.PublicIPv4)
	if in.PublicKey != "" {
		// The key as a .pub file holds it: one line and its newline.
		// renderBodies lists public-keys/ as "0=KeyName".
		m["public-keys/0/openssh-key"] = strings.TrimRight(in.PublicKey, "\r\n") + "\n"
	}

	// The primary interface, network/interfaces/macs/MAC/.
	mac := "network/interfaces/macs/" + in.MAC + "/"
	leaves := map[string]string{
		"device-number":          "0",
		"interface-id":           in.InterfaceID,
		"local-hostname":         in.Hostname,
		"local-ipv4s":            in.LocalIPv4,
		"mac":                    in.MAC,
		"owner-id":               in.AccountID,
		"security-group-ids":     lines(in.SecurityGroupIDs...),
		"security-groups":        lines(in.SecurityGroups...),
		"subnet-id":              in.SubnetID,
		"subnet-ipv4-cidr-block": in.SubnetCIDR,
		"vpc-id":                 in.VPCID,
		"vpc-ipv4-cidr-block":    in.VPCCIDR,
		"vpc-ipv4-cidr-blocks":   in.VPCCIDR,
	}
	if in.PublicIPv4 != "" {
		leaves["public-hostname"] = in.PublicHostname
		leaves["public-ipv4s"] = in.PublicIPv4
		leaves["ipv4-associations/"+in.PublicIPv4] = in.LocalIPv4
	}
	if in.IPv6 != "" {
		a := netip.MustParseAddr(in.IPv6) // checked by withDefaults
		sub, _ := a.Prefix(64)
		vpc, _ := a.Prefix(56)
		leaves["ipv6s"] = in.IPv6
		leaves["subnet-ipv6-cidr-blocks"] = sub.String()
		leaves["vpc-ipv6-cidr-blocks"] = vpc.String()
	}
	for k, v := range leaves {
		m[mac+k] = v
	}
	return m
}

// identityDocument renders /latest/dynamic/instance-identity/document: the
// fifteen keys of the EC2 User Guide ("Instance identity documents"), with
// JSON null for the ones an emulated instance has no value for, laid out
// as real IMDS does.
func identityDocument(in *Instance) []byte {
	b := []byte("{\n")
	key := func(k string) {
		b = append(b, `  "`...)
		b = append(b, k...)
		b = append(b, `" : `...)
	}
	str := func(k, v string) {
		key(k)
		if v == "" {
			b = append(b, "null,\n"...)
			return
		}
		b = appendJSONString(b, v)
		b = append(b, ",\n"...)
	}
	list := func(k string, v []string) {
		key(k)
		if len(v) == 0 {
			b = append(b, "null,\n"...)
			return
		}
		b = append(b, "[ "...)
		for i, s := range v {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendJSONString(b, s)
		}
		b = append(b, " ],\n"...)
	}
	str("accountId", in.AccountID)
	str("architecture", in.Architecture)
	str("availabilityZone", in.AvailabilityZone)
	list("billingProducts", nil)
	list("devpayProductCodes", nil)
	list("marketplaceProductCodes", in.ProductCodes)
	str("imageId", in.AMIID)
	str("instanceId", in.ID)
	str("instanceType", in.Type)
	str("kernelId", in.KernelID)
	str("pendingTime", string(appendTimestamp(nil, in.PendingTime)))
	str("privateIp", in.LocalIPv4)
	str("ramdiskId", in.RamdiskID)
	str("region", in.Region)
	b = append(b, `  "version" : "2017-09-30"`+"\n}"...)
	return b
}
