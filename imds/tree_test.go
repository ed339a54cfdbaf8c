package imds_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/imdsemu/imdsemu/imds"
)

// Doc pages the tree follows, by the slug of their URL under
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/.
const (
	docCategories = "instancedata-data-categories"            // what each category holds, when present
	docRetrieval  = "instancedata-data-retrieval"             // versions, listings, public keys, subnet id
	docIdentity   = "instance-identity-documents"             // the identity document
	docSpot       = "spot-instance-termination-notices"       // spot/instance-action, termination-time
	docRebalance  = "rebalance-recommendations"               // events/recommendations/rebalance
	docScheduled  = "monitoring-instances-status-check_sched" // events/maintenance/*
	docLifecycle  = "autoscaling/ec2/userguide/retrieving-target-lifecycle-state-through-imds"
)

// fullInstance sets every category an instance may have.
func fullInstance(o *imds.Options) {
	o.Instance = imds.Instance{
		LocalIPv4: "172.31.5.9", SubnetCIDR: "172.31.0.0/20", VPCCIDR: "172.31.0.0/16",
		PublicIPv4: "203.0.113.25", IPv6: "2600:1f18:0:2300::5",
		SecurityGroups: []string{"web", "ssh"}, SecurityGroupIDs: []string{"sg-0aaa", "sg-0bbb"},
		AMILaunchIndex: 2, ReservationID: "r-0efa1b2c3d4e5f607",
		KernelID: "aki-919dcaf8", RamdiskID: "ari-8c2b38e5", ProductCodes: []string{"aw0evgkw8e5c1q413zgy5pjce"},
		PlacementGroup: "batch", PartitionNumber: 3, HostID: "h-0123456789abcdef0",
		KeyName: "my-public-key", PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample my-public-key\n",
		EBS: []string{"sdb", "sdc"}, Ephemeral: []string{"sdd"}, DetailedMonitoring: true,
		LifeCycle: imds.LifeCycleSpot, AutoScaling: true,
		Tags: map[string]string{"Name": "web-1"}, UserData: []byte("#!/bin/sh\n"),
	}
	o.InstanceMetadataTags = true
}

const fullMAC = "0e:00:ac:1f:05:09"

func TestTree_Leaves(t *testing.T) {
	macs := "/latest/meta-data/network/interfaces/macs/" + fullMAC
	cases := []struct {
		doc, path, body string
	}{
		{docRetrieval, "/", strings.Join(append(imds.Versions(), "latest"), "\n")},
		{docRetrieval, "/latest", "dynamic\nmeta-data\nuser-data"},
		{docRetrieval, "/latest/meta-data", "ami-id\nami-launch-index\nami-manifest-path\nautoscaling/\nblock-device-mapping/\n" +
			"events/\nhostname\niam/\ninstance-action\ninstance-id\ninstance-life-cycle\ninstance-type\nkernel-id\n" +
			"local-hostname\nlocal-ipv4\nmac\nmetrics/\nnetwork/\nplacement/\nproduct-codes\nprofile\npublic-hostname\n" +
			"public-ipv4\npublic-keys/\nramdisk-id\nreservation-id\nsecurity-groups\nservices/\nsystem\ntags/"},
		{docCategories, "/latest/meta-data/ami-launch-index", "2"},
		{docCategories, "/latest/meta-data/ami-manifest-path", "(unknown)"},
		{docCategories, "/latest/meta-data/block-device-mapping", "ami\nebs1\nebs2\nephemeral0\nroot"},
		{docCategories, "/latest/meta-data/block-device-mapping/ami", "/dev/xvda"},
		{docCategories, "/latest/meta-data/block-device-mapping/root", "/dev/xvda"},
		{docCategories, "/latest/meta-data/block-device-mapping/ebs2", "sdc"},
		{docCategories, "/latest/meta-data/block-device-mapping/ephemeral0", "sdd"},
		{docCategories, "/latest/meta-data/events", "maintenance/"},
		{docCategories, "/latest/meta-data/events/maintenance", "history\nscheduled"},
		{docScheduled, "/latest/meta-data/events/maintenance/scheduled", "[]"},
		{docScheduled, "/latest/meta-data/events/maintenance/history", "[]"},
		{docCategories, "/latest/meta-data/hostname", "ip-172-31-5-9.ec2.internal"},
		{docCategories, "/latest/meta-data/instance-action", "none"},
		{docCategories, "/latest/meta-data/instance-life-cycle", "spot"},
		{docCategories, "/latest/meta-data/kernel-id", "aki-919dcaf8"},
		{docCategories, "/latest/meta-data/ramdisk-id", "ari-8c2b38e5"},
		{docCategories, "/latest/meta-data/product-codes", "aw0evgkw8e5c1q413zgy5pjce"},
		{docCategories, "/latest/meta-data/mac", fullMAC},
		{docCategories, "/latest/meta-data/metrics/vhostmd", `<?xml version="1.0" encoding="UTF-8"?>`},
		{docCategories, "/latest/meta-data/placement", "availability-zone\navailability-zone-id\ngroup-name\nhost-id\npartition-number\nregion"},
		{docCategories, "/latest/meta-data/placement/group-name", "batch"},
		{docCategories, "/latest/meta-data/placement/partition-number", "3"},
		{docCategories, "/latest/meta-data/placement/host-id", "h-0123456789abcdef0"},
		{docCategories, "/latest/meta-data/profile", "default-hvm"},
		{docRetrieval, "/latest/meta-data/public-hostname", "ec2-203-0-113-25.compute-1.amazonaws.com"},
		{docCategories, "/latest/meta-data/public-ipv4", "203.0.113.25"},
		{docRetrieval, "/latest/meta-data/public-keys", "0=my-public-key"},
		{docRetrieval, "/latest/meta-data/public-keys/0", "openssh-key"},
		{docRetrieval, "/latest/meta-data/public-keys/0/openssh-key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample my-public-key\n"},
		{docRetrieval, "/latest/meta-data/reservation-id", "r-0efa1b2c3d4e5f607"},
		{docCategories, "/latest/meta-data/security-groups", "web\nssh"},
		{docCategories, "/latest/meta-data/services", "domain\npartition"},
		{docCategories, "/latest/meta-data/services/domain", "amazonaws.com"},
		{docCategories, "/latest/meta-data/services/partition", "aws"},
		{docCategories, "/latest/meta-data/system", "nitro"},
		{docLifecycle, "/latest/meta-data/autoscaling", "target-lifecycle-state"},
		{docLifecycle, "/latest/meta-data/autoscaling/target-lifecycle-state", "InService"},
		{docCategories, macs, "device-number\ninterface-id\nipv4-associations/\nipv6s\nlocal-hostname\nlocal-ipv4s\nmac\nowner-id\n" +
			"public-hostname\npublic-ipv4s\nsecurity-group-ids\nsecurity-groups\nsubnet-id\nsubnet-ipv4-cidr-block\n" +
			"subnet-ipv6-cidr-blocks\nvpc-id\nvpc-ipv4-cidr-block\nvpc-ipv4-cidr-blocks\nvpc-ipv6-cidr-blocks"},
		{docCategories, macs + "/ipv4-associations", "203.0.113.25"},
		{docCategories, macs + "/ipv4-associations/203.0.113.25", "172.31.5.9"},
		{docCategories, macs + "/ipv6s", "2600:1f18:0:2300::5"},
		{docCategories, macs + "/public-ipv4s", "203.0.113.25"},
		{docCategories, macs + "/security-group-ids", "sg-0aaa\nsg-0bbb"},
		{docCategories, macs + "/security-groups", "web\nssh"},
		{docRetrieval, macs + "/subnet-id", "subnet-0123456789abcdef0"},
		{docCategories, macs + "/subnet-ipv4-cidr-block", "172.31.0.0/20"},
		{docCategories, macs + "/subnet-ipv6-cidr-blocks", "2600:1f18:0:2300::/64"},
		{docCategories, macs + "/vpc-ipv4-cidr-block", "172.31.0.0/16"},
		{docCategories, macs + "/vpc-ipv4-cidr-blocks", "172.31.0.0/16"},
		{docCategories, macs + "/vpc-ipv6-cidr-blocks", "2600:1f18:0:2300::/56"},
		{docCategories, "/latest/dynamic", "fws/\ninstance-identity/"},
		{docCategories, "/latest/dynamic/fws", "instance-monitoring"},
		{docCategories, "/latest/dynamic/fws/instance-monitoring", "enabled"},
		{docIdentity, "/latest/dynamic/instance-identity/document", `{
  "accountId" : "123456789012",
  "architecture" : "x86_64",
  "availabilityZone" : "us-east-1a",
  "billingProducts" : null,
  "devpayProductCodes" : null,
  "marketplaceProductCodes" : [ "aw0evgkw8e5c1q413zgy5pjce" ],
  "imageId" : "ami-0123456789abcdef0",
  "instanceId" : "i-0123456789abcdef0",
  "instanceType" : "t3.micro",
  "kernelId" : "aki-919dcaf8",
  "pendingTime" : "2025-06-01T12:00:00Z",
  "privateIp" : "172.31.5.9",
  "ramdiskId" : "ari-8c2b38e5",
  "region" : "us-east-1",
  "version" : "2017-09-30"
}`},
	}
	f := newFixture(t, fullInstance)
	for _, v2 := range []bool{false, true} {
		var h []string
		if v2 {
			h = []string{hdrToken, f.token(t, "60")}
		}
		for _, tc := range cases {
			for _, p := range []string{tc.path, tc.path + "/"} {
				w := f.do(t, "GET", p, h...)
				if w.Code != 200 || w.Body.String() != tc.body {
					t.Errorf("v2=%t GET %s = %d %q, want 200 %q (%s)", v2, p, w.Code, w.Body.String(), tc.body, tc.doc)
				}
				if ct := w.Header().Get("Content-Type"); ct != "text/plain" {
					t.Errorf("GET %s Content-Type = %q, want text/plain (%s: all metadata is text/plain)", p, ct, docRetrieval)
				}
			}
		}
	}
}

// TestTree_Walk lists every directory from / down, with IMDSv1 and IMDSv2:
// every entry listed answers 200, every directory is listed with "/" and
// lists at least one entry, no listing ends with a newline, and the walk
// reaches every category of the full instance.
func TestTree_Walk(t *testing.T) {
	f := newFixture(t, fullInstance)
	for _, v2 := range []bool{false, true} {
		var h []string
		if v2 {
			h = []string{hdrToken, f.token(t, "60")}
		}
		seen := 0
		var walk func(dir string)
		walk = func(dir string) {
			w := f.do(t, "GET", dir, h...)
			body := w.Body.String()
			if w.Code != 200 || body == "" || strings.HasSuffix(body, "\n") {
				t.Errorf("v2=%t GET %s = %d %q, want 200 and a listing with no trailing newline", v2, dir, w.Code, body)
				return
			}
			for _, e := range strings.Split(body, "\n") {
				seen++
				if dir == "/" && e != "latest" {
					continue // the dated versions are latest's tree again
				}
				name, isDir := strings.CutSuffix(e, "/")
				p := dir + name
				if dir == "/latest/meta-data/public-keys/" {
					p = dir + strings.SplitN(name, "=", 2)[0]
					isDir = true
				}
				if dir == "/" || dir == "/latest/" && name != "user-data" {
					isDir = true
				}
				if isDir {
					walk(p + "/")
					continue
				}
				if w := f.do(t, "GET", p, h...); w.Code != 200 {
					t.Errorf("v2=%t GET %s (listed in %s) = %d, want 200", v2, p, dir, w.Code)
				}
			}
		}
		walk("/")
		if seen < 100 {
			t.Errorf("v2=%t: the walk saw %d entries, want the whole tree (at least 100)", v2, seen)
		}
	}
}

func TestTree_Partition(t *testing.T) {
	// instancedata-data-categories: services/domain is the domain of the
	// Region's partition; services/partition is aws, or aws-PARTITION.
	for _, tc := range []struct{ region, partition, domain, publicHost string }{
		{"us-east-1", "aws", "amazonaws.com", "ec2-203-0-113-25.compute-1.amazonaws.com"},
		{"eu-west-1", "aws", "amazonaws.com", "ec2-203-0-113-25.eu-west-1.compute.amazonaws.com"},
		{"cn-north-1", "aws-cn", "amazonaws.com.cn", "ec2-203-0-113-25.cn-north-1.compute.amazonaws.com.cn"},
		{"us-gov-west-1", "aws-us-gov", "amazonaws.com", "ec2-203-0-113-25.us-gov-west-1.compute.amazonaws.com"},
	} {
		f := newFixture(t, func(o *imds.Options) {
			o.Instance = imds.Instance{Region: tc.region, PublicIPv4: "203.0.113.25"}
		})
		for path, want := range map[string]string{
			"/latest/meta-data/services/partition":          tc.partition,
			"/latest/meta-data/services/domain":             tc.domain,
			"/latest/meta-data/public-hostname":             tc.publicHost,
			"/latest/meta-data/placement/region":            tc.region,
			"/latest/meta-data/placement/availability-zone": tc.region + "a",
		} {
			if w := f.do(t, "GET", path); w.Code != 200 || w.Body.String() != want {
				t.Errorf("region %s: GET %s = %d %q, want %q", tc.region, path, w.Code, w.Body.String(), want)
			}
		}
	}
}

// TestTree_Absent: the categories that exist only when configured answer
// 404 on the default instance and are not listed.
func TestTree_Absent(t *testing.T) {
	f := newFixture(t, nil)
	listing := f.do(t, "GET", "/latest/meta-data/").Body.String()
	for _, p := range []string{
		"kernel-id", "ramdisk-id", "product-codes", "public-keys", "public-keys/0/openssh-key", "public-ipv4",
		"public-hostname", "autoscaling", "autoscaling/target-lifecycle-state", "spot", "spot/instance-action",
		"spot/termination-time", "events/recommendations", "events/recommendations/rebalance",
		"placement/group-name", "placement/host-id", "placement/partition-number", "block-device-mapping/ebs1",
		"network/interfaces/macs/0e:00:0a:00:00:01/ipv6s", "network/interfaces/macs/0e:00:0a:00:00:01/ipv4-associations",
	} {
		if w := f.do(t, "GET", "/latest/meta-data/"+p); w.Code != 404 {
			t.Errorf("GET %s = %d, want 404 on an instance without it", p, w.Code)
		}
		if top, _, _ := strings.Cut(p, "/"); strings.Contains("\n"+listing+"\n", "\n"+top+"\n") || strings.Contains("\n"+listing+"\n", "\n"+top+"/\n") {
			if !strings.Contains(p, "/") {
				t.Errorf("meta-data/ lists %s on an instance without it", top)
			}
		}
	}
	if got := f.do(t, "GET", "/latest/dynamic/fws/instance-monitoring").Body.String(); got != "disabled" {
		t.Errorf("fws/instance-monitoring = %q, want disabled by default", got)
	}
}

func TestInstance_Invalid(t *testing.T) {
	for _, in := range []imds.Instance{
		{SubnetCIDR: "10.1.0.0/24"},                         // LocalIPv4 10.0.0.1 outside it
		{VPCCIDR: "10.0.0.0/24", SubnetCIDR: "10.0.0.0/16"}, // subnet larger than the VPC
		{SubnetCIDR: "10.0.0.1/24"},                         // not a network address
		{SecurityGroups: []string{"a", "b"}, SecurityGroupIDs: []string{"sg-1"}},
		{SecurityGroups: []string{"a"}, SecurityGroupIDs: []string{"subnet-1"}},
		{LifeCycle: "reserved"},
		{PartitionNumber: 8, PlacementGroup: "g"},
		{PartitionNumber: 1},
		{PublicKey: "ssh-ed25519 AAAA"},
		{ReservationID: "0123"},
		{KernelID: "ami-1234"},
		{IPv6: "10.0.0.1"},
		{EBS: []string{"/dev/../sda"}},
		{ProductCodes: []string{"Bad Code"}},
	} {
		_, err := imds.New(imds.Options{Credentials: &source{}, TokenKey: testKey, Instance: in})
		if err == nil {
			t.Errorf("New with Instance %+v succeeded, want an error", in)
		} else if !strings.HasPrefix(err.Error(), "imds: Instance.") && !strings.HasPrefix(err.Error(), "imds: block device") {
			t.Errorf("New: error %q does not name the field", err)
		}
	}
}

func ExampleVersions() {
	v := imds.Versions()
	fmt.Println(v[0], v[len(v)-1])
	// Output: 1.0 2022-09-24
}
