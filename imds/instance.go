package imds

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/internal/pattern"
)

// Instance describes the emulated EC2 instance: everything the metadata
// tree serves. New fills zero fields with the defaults of a current
// (Nitro) instance launched into a VPC from an EBS-backed AMI:
//
//	ID                 i-0123456789abcdef0
//	Type               t3.micro
//	AMIID              ami-0123456789abcdef0
//	AMIManifestPath    (unknown), as for every EBS-backed AMI
//	Architecture       x86_64
//	LocalIPv4          10.0.0.1
//	Hostname           ip-10-0-0-1.ec2.internal (from LocalIPv4 and Region, as EC2 names hosts)
//	Region             us-east-1, or AvailabilityZone without its letter
//	AvailabilityZone   Region + "a"
//	AvailabilityZoneID the region's short name + "-az" + the zone letter's place: use1-az1
//	AccountID          123456789012
//	ReservationID      r-0123456789abcdef0
//	PendingTime        the time New was called, to the second
//	MAC                0e:00 + LocalIPv4 in hex: 0e:00:0a:00:00:01
//	InterfaceID        eni-0123456789abcdef0
//	SubnetID           subnet-0123456789abcdef0
//	SubnetCIDR         LocalIPv4's /24: 10.0.0.0/24
//	VPCID              vpc-0123456789abcdef0
//	VPCCIDR            LocalIPv4's /16: 10.0.0.0/16
//	SecurityGroups     default, with SecurityGroupIDs sg-0123456789abcdef0
//	LifeCycle          on-demand
//	RootDevice         /dev/xvda
//	PublicHostname     from PublicIPv4 as EC2 names it, when PublicIPv4 is set
//
// The partition and its domain (services/) follow from Region: aws-cn for
// cn-* regions, aws-us-gov for us-gov-*, aws otherwise.
//
// PublicIPv4, PublicKey, IPv6, KernelID, RamdiskID, ProductCodes, the
// placement group, HostID, EBS and ephemeral devices, AutoScaling, Tags and
// UserData have no default: without them their categories are not served.
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
	// interface under network/interfaces/macs/MAC/; SubnetCIDR and VPCCIDR
	// are its subnet's and VPC's IPv4 blocks, which must hold LocalIPv4.
	MAC, InterfaceID, SubnetID, VPCID string
	SubnetCIDR, VPCCIDR               string
	// IPv6 is the interface's IPv6 address; "" means none. Its subnet is
	// the address's /64 and the VPC's block its /56.
	IPv6 string
	// SecurityGroups are the names of the instance's security groups and
	// SecurityGroupIDs their ids, in the same order.
	SecurityGroups, SecurityGroupIDs []string

	// AMILaunchIndex is the instance's place in its launch (0 for the first).
	AMILaunchIndex int
	// AMIManifestPath is the S3 manifest of an instance-store AMI.
	AMIManifestPath string
	// ReservationID is the id of the launch's reservation.
	ReservationID string
	// KernelID and RamdiskID are set only for paravirtual AMIs.
	KernelID, RamdiskID string
	// ProductCodes are the AWS Marketplace product codes of the AMI.
	ProductCodes []string
	// LifeCycle is "on-demand" or "spot". Spot interruption and rebalance
	// notices are only for Spot instances.
	LifeCycle string
	// AutoScaling puts the instance in an Auto Scaling group: it serves
	// autoscaling/target-lifecycle-state, InService until a notice changes it.
	AutoScaling bool
	// PlacementGroup, PartitionNumber (1-7, in a partition placement group)
	// and HostID (a Dedicated Host) are served under placement/ when set.
	PlacementGroup  string
	PartitionNumber int
	HostID          string
	// KeyName and PublicKey are the launch key pair: public-keys/0=KeyName
	// and public-keys/0/openssh-key. PublicKey "" means none.
	KeyName, PublicKey string
	// RootDevice is the root volume's device (block-device-mapping/ami and
	// root); EBS and Ephemeral are the devices of further EBS volumes
	// (ebs1, ebs2, …) and instance store volumes (ephemeral0, …), such as
	// "sdb".
	RootDevice     string
	EBS, Ephemeral []string
	// DetailedMonitoring answers dynamic/fws/instance-monitoring "enabled".
	DetailedMonitoring bool

	// Tags are the instance tags, served under tags/instance/ while
	// instance metadata tags are on. Keys follow EC2's rule for tags in
	// metadata: letters, digits and + - = . , _ : @, no spaces or "/", and
	// not ".", ".." or "_index"; at most 128 characters.
	Tags map[string]string
	// UserData is served at /latest/user-data as application/octet-stream.
	// Nil or empty means none (404).
	UserData []byte
}

// Values of Instance.LifeCycle.
const (
	LifeCycleOnDemand = "on-demand"
	LifeCycleSpot     = "spot"
)

// Immutable after package initialisation and safe for concurrent use.
var (
	tagKeyRe  = pattern.MustCompile(`^[A-Za-z0-9+\-=.,_:@]+$`, 1, 128)
	deviceRe  = pattern.MustCompile(`^(/dev/)?[a-z][a-z0-9]*$`, 1, 32)
	idRe      = pattern.MustCompile(`^[a-z]+-[0-9a-f]+$`, 3, 64)
	sgNameRe  = pattern.MustCompile(`^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+$`, 1, 255)
	keyNameRe = pattern.MustCompile(`^[ -~]+$`, 1, 255)
	productRe = pattern.MustCompile(`^[a-z0-9]+$`, 1, 64)
)

func (in Instance) withDefaults(now time.Time) (Instance, error) {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&in.ID, "i-0123456789abcdef0")
	def(&in.Type, "t3.micro")
	def(&in.AMIID, "ami-0123456789abcdef0")
	def(&in.AMIManifestPath, "(unknown)")
	def(&in.Architecture, "x86_64")
	def(&in.AccountID, "123456789012")
	def(&in.ReservationID, "r-0123456789abcdef0")
	def(&in.LocalIPv4, "10.0.0.1")
	def(&in.InterfaceID, "eni-0123456789abcdef0")
	def(&in.SubnetID, "subnet-0123456789abcdef0")
	def(&in.VPCID, "vpc-0123456789abcdef0")
	def(&in.LifeCycle, LifeCycleOnDemand)
	def(&in.RootDevice, "/dev/xvda")
	ip, err := netip.ParseAddr(in.LocalIPv4)
	if err != nil || !ip.Is4() {
		return in, fmt.Errorf("imds: Instance.LocalIPv4 %q is not an IPv4 address", in.LocalIPv4)
	}
	if err := in.network(ip); err != nil {
		return in, err
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
			// ec2-a-b-c-d.REGION.compute.amazonaws.com elsewhere
			// (amazonaws.com.cn in China).
			in.PublicHostname = "ec2-" + strings.ReplaceAll(in.PublicIPv4, ".", "-")
			if in.Region == "us-east-1" {
				in.PublicHostname += ".compute-1.amazonaws.com"
			} else {
				in.PublicHostname += "." + in.Region + ".compute." + domainOf(in.Region)
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
	if err := in.checkScalars(); err != nil {
		return in, err
	}
	// Copies, so that the caller changing its map or slice changes nothing here.
	in.Tags = maps.Clone(in.Tags)
	in.UserData = slices.Clone(in.UserData)
	in.ProductCodes = slices.Clone(in.ProductCodes)
	in.EBS, in.Ephemeral = slices.Clone(in.EBS), slices.Clone(in.Ephemeral)
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

// network fills and checks the interface's blocks, security groups and
// IPv6 address.
func (in *Instance) network(ip netip.Addr) error {
	block := func(field string, v *string, bits int) (netip.Prefix, error) {
		if *v == "" {
			p, _ := ip.Prefix(bits) // an IPv4 address has every prefix up to 32
			*v = p.String()
		}
		p, err := netip.ParsePrefix(*v)
		if err != nil || !p.Addr().Is4() || p != p.Masked() {
			return p, fmt.Errorf("imds: Instance.%s %q is not an IPv4 CIDR block such as 10.0.0.0/16", field, *v)
		}
		return p, nil
	}
	subnet, err := block("SubnetCIDR", &in.SubnetCIDR, 24)
	if err != nil {
		return err
	}
	vpc, err := block("VPCCIDR", &in.VPCCIDR, 16)
	if err != nil {
		return err
	}
	if !subnet.Contains(ip) || !vpc.Contains(subnet.Addr()) || subnet.Bits() < vpc.Bits() {
		return fmt.Errorf("imds: Instance.LocalIPv4 %s must be in SubnetCIDR %s, and the subnet in VPCCIDR %s", ip, subnet, vpc)
	}
	if len(in.SecurityGroups) == 0 && len(in.SecurityGroupIDs) == 0 {
		in.SecurityGroups, in.SecurityGroupIDs = []string{"default"}, []string{"sg-0123456789abcdef0"}
	}
	in.SecurityGroups, in.SecurityGroupIDs = slices.Clone(in.SecurityGroups), slices.Clone(in.SecurityGroupIDs)
	if len(in.SecurityGroups) != len(in.SecurityGroupIDs) {
		return fmt.Errorf("imds: Instance.SecurityGroups (%d) and SecurityGroupIDs (%d) must name the same groups, one id per name", len(in.SecurityGroups), len(in.SecurityGroupIDs))
	}
	for i, name := range in.SecurityGroups {
		if !sgNameRe.MatchString(name) {
			return fmt.Errorf("imds: Instance.SecurityGroups[%d] %q is not a security group name", i, name)
		}
		if id := in.SecurityGroupIDs[i]; !strings.HasPrefix(id, "sg-") || !idRe.MatchString(id) {
			return fmt.Errorf("imds: Instance.SecurityGroupIDs[%d] %q is not a security group id such as sg-0123456789abcdef0", i, id)
		}
	}
	if in.IPv6 != "" {
		a, err := netip.ParseAddr(in.IPv6)
		if err != nil || !a.Is6() || a.Is4In6() {
			return fmt.Errorf("imds: Instance.IPv6 %q is not an IPv6 address", in.IPv6)
		}
		in.IPv6 = a.String()
	}
	return nil
}

// checkScalars checks the fields a typo would make unlike EC2's.
func (in *Instance) checkScalars() error {
	for _, f := range []struct{ field, value, prefix string }{
		{"ReservationID", in.ReservationID, "r-"},
		{"InterfaceID", in.InterfaceID, "eni-"},
		{"SubnetID", in.SubnetID, "subnet-"},
		{"VPCID", in.VPCID, "vpc-"},
		{"KernelID", in.KernelID, "aki-"},
		{"RamdiskID", in.RamdiskID, "ari-"},
		{"HostID", in.HostID, "h-"},
	} {
		if f.value != "" && (!strings.HasPrefix(f.value, f.prefix) || !idRe.MatchString(f.value)) {
			return fmt.Errorf("imds: Instance.%s %q must be %q followed by hex digits", f.field, f.value, f.prefix)
		}
	}
	switch {
	case in.LifeCycle != LifeCycleOnDemand && in.LifeCycle != LifeCycleSpot:
		return fmt.Errorf("imds: Instance.LifeCycle must be %q or %q, got %q", LifeCycleOnDemand, LifeCycleSpot, in.LifeCycle)
	case in.AMILaunchIndex < 0:
		return fmt.Errorf("imds: Instance.AMILaunchIndex must not be negative, got %d", in.AMILaunchIndex)
	case in.PartitionNumber < 0 || in.PartitionNumber > 7:
		return fmt.Errorf("imds: Instance.PartitionNumber must be from 1 to 7 (0: none), got %d", in.PartitionNumber)
	case in.PartitionNumber != 0 && in.PlacementGroup == "":
		return fmt.Errorf("imds: Instance.PartitionNumber %d needs the partition placement group's name in PlacementGroup", in.PartitionNumber)
	case in.PublicKey != "" && !keyNameRe.MatchString(in.KeyName):
		return fmt.Errorf("imds: Instance.PublicKey needs its key pair's name in KeyName (printable ASCII, at most 255 characters), got %q", in.KeyName)
	case strings.ContainsAny(in.AMIManifestPath, "\r\n") || strings.ContainsAny(in.PlacementGroup, "\r\n"):
		return fmt.Errorf("imds: Instance.AMIManifestPath and PlacementGroup are one line each")
	}
	for _, d := range slices.Concat([]string{in.RootDevice}, in.EBS, in.Ephemeral) {
		if !deviceRe.MatchString(d) {
			return fmt.Errorf("imds: block device %q is not a device name such as /dev/xvda or sdb", d)
		}
	}
	for _, c := range in.ProductCodes {
		if !productRe.MatchString(c) {
			return fmt.Errorf("imds: Instance.ProductCodes: %q is not a product code (lowercase letters and digits)", c)
		}
	}
	return nil
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

// partitionOf is the AWS partition of a region, as services/partition
// answers it.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	}
	return "aws"
}

// domainOf is the DNS domain of a region's partition, as services/domain
// answers it.
func domainOf(region string) string {
	switch partitionOf(region) {
	case "aws-cn":
		return "amazonaws.com.cn"
	case "aws-iso":
		return "c2s.ic.gov"
	case "aws-iso-b":
		return "sc2s.sgov.gov"
	}
	return "amazonaws.com"
}
