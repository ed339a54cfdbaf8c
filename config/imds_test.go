package config_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imdsemu/imdsemu/config"
)

func TestParse_IMDSSettings(t *testing.T) {
	dir := t.TempDir()
	data := yamlLines(
		"hop-limit: 2",
		"ipv6-addr: '[fd00:ec2::254]:80'",
		"ecs-addr: 127.0.0.1:1341",
		"extended-credentials: false",
		"instance-metadata-tags: true",
		"throttle: {rps: 2.5, burst: 10}",
		"instance:",
		"  ami-id: ami-0abcdef1234567890",
		"  hostname: web-1.internal",
		"  local-ipv4: 172.31.5.9",
		"  public-ipv4: 203.0.113.7",
		"  mac: 0e:49:61:0f:c3:11",
		"  availability-zone-id: use1-az4",
		"  tags: {Name: web-1, team:owner: platform}",
		"  user-data-file: user-data.sh",
	)
	f, err := config.Parse(filepath.Join(dir, "imdsemu.yaml"), data)
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	s := f.Settings
	no := false
	if s.HopLimit != 2 || s.IPv6Addr != "[fd00:ec2::254]:80" || s.ECSAddr != "127.0.0.1:1341" ||
		s.ExtendedCredentials == nil || *s.ExtendedCredentials != no || !s.InstanceMetadataTags ||
		s.Throttle != (config.Throttle{RPS: 2.5, Burst: 10}) {
		t.Errorf("settings = %+v", s)
	}
	want := config.Instance{
		ID: "i-0123456789abcdef0", Type: "t3.micro", Region: "us-east-1", AvailabilityZone: "us-east-1a",
		Profile: "imdsemu-demo", Account: "123456789012",
		AMIID: "ami-0abcdef1234567890", Hostname: "web-1.internal", LocalIPv4: "172.31.5.9", PublicIPv4: "203.0.113.7",
		MAC: "0e:49:61:0f:c3:11", AvailabilityZoneID: "use1-az4",
		Tags:         map[string]string{"Name": "web-1", "team:owner": "platform"},
		UserDataFile: filepath.Join(dir, "user-data.sh"),
	}
	if diff := cmp.Diff(want, s.Instance); diff != "" {
		t.Errorf("instance (-want +got):\n%s", diff)
	}
	// Left out: nil (the CLI's default, on), zero hop limit, no throttle.
	d, err := config.Parse("empty.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Settings.ExtendedCredentials != nil || d.Settings.HopLimit != 0 || d.Settings.Throttle != (config.Throttle{}) {
		t.Errorf("defaults = %+v", d.Settings)
	}
}

func TestParse_InstanceTree(t *testing.T) {
	data := yamlLines(
		"instance:",
		"  life-cycle: spot",
		"  auto-scaling: true",
		"  ami-launch-index: 2",
		"  reservation-id: r-0efa1b2c3d4e5f607",
		"  kernel-id: aki-919dcaf8",
		"  product-codes: [aw0evgkw8e5c1q413zgy5pjce]",
		"  security-groups: [web, ssh]",
		"  security-group-ids: [sg-0123456789abcdef0, sg-0123456789abcdef1]",
		"  subnet-ipv4-cidr-block: 10.0.0.0/20",
		"  vpc-ipv4-cidr-block: 10.0.0.0/16",
		"  ipv6: 2600:1f18::5",
		"  placement-group: batch",
		"  partition-number: 3",
		"  key-name: laptop",
		"  public-key: ssh-ed25519 AAAAC3Nza laptop",
		"  ebs-devices: [sdb]",
		"  detailed-monitoring: true",
	)
	f, err := config.Parse("imdsemu.yaml", data)
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	in := f.Settings.Instance
	if in.LifeCycle != "spot" || !in.AutoScaling || in.AMILaunchIndex != 2 || in.ReservationID != "r-0efa1b2c3d4e5f607" ||
		in.KernelID != "aki-919dcaf8" || len(in.SecurityGroupIDs) != 2 || in.SubnetCIDR != "10.0.0.0/20" ||
		in.IPv6 != "2600:1f18::5" || in.PartitionNumber != 3 || in.PublicKey == "" || in.EBSDevices[0] != "sdb" || !in.DetailedMonitoring {
		t.Errorf("instance = %+v", in)
	}
}

func TestParse_IMDSErrors(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"hop limit too large", yamlLines("hop-limit: 65"), `bad.yaml:1:12: hop-limit: must be from 1 to 64, got 65`},
		{"hop limit not a number", yamlLines("hop-limit: two"), `bad.yaml:1:12: hop-limit: must be a whole number, got "two"`},
		{"extended not a bool", yamlLines("extended-credentials: maybe"), `bad.yaml:1:23: extended-credentials: must be true or false, got "maybe"`},
		{"bad ipv6 addr", yamlLines("ipv6-addr: fd00:ec2::254"), `bad.yaml:1:12: ipv6-addr: must be host:port such as "127.0.0.1:1338", got "fd00:ec2::254"`},
		{"bad ecs addr", yamlLines("ecs-addr: 127.0.0.1"), `bad.yaml:1:11: ecs-addr: must be host:port such as "127.0.0.1:1338", got "127.0.0.1"`},
		{"negative rps", yamlLines("throttle:", "  rps: -1"), `bad.yaml:2:8: throttle.rps: must be 0 (off) or a positive number of requests a second, got -1`},
		{"unknown throttle key", yamlLines("throttle:", "  bursts: 1"), `bad.yaml:2:3: throttle.bursts: unknown field "bursts" (did you mean "burst"?)`},
		{"bad ami", yamlLines("instance:", "  ami-id: ami-xyz"), `bad.yaml:2:11: instance.ami-id: must be "ami-" followed by 8 or 17 lowercase hex digits, got "ami-xyz"`},
		{"bad local ip", yamlLines("instance:", "  local-ipv4: 10.0.0"), `bad.yaml:2:15: instance.local-ipv4: must be an IPv4 address such as 10.0.0.1, got "10.0.0"`},
		{"bad life cycle", yamlLines("instance:", "  life-cycle: reserved"), `bad.yaml:2:15: instance.life-cycle: must be on-demand or spot, got "reserved"`},
		{"bad cidr", yamlLines("instance:", "  vpc-ipv4-cidr-block: 10.0.0.1/16"), `bad.yaml:2:24: instance.vpc-ipv4-cidr-block: must be an IPv4 CIDR block such as 10.0.0.0/16, got "10.0.0.1/16"`},
		{"groups without ids", yamlLines("instance:", "  security-groups: [web]"), `bad.yaml:2:3: instance.security-group-ids: must give one id per name in security-groups (1 names), got 0`},
		{"partition without group", yamlLines("instance:", "  partition-number: 2"), "bad.yaml:2:21: instance.partition-number: needs placement-group: the partition placement group's name"},
		{"key without name", yamlLines("instance:", "  public-key: ssh-ed25519 AAAA"), `bad.yaml:2:15: instance.public-key: needs key-name: public-keys/0 is listed as 0=KEY-NAME`},
		{"bad mac", yamlLines("instance:", "  mac: zz:00"), `bad.yaml:2:8: instance.mac: must be a MAC address such as 0e:00:0a:00:00:01, got "zz:00"`},
		{"bad tag key", yamlLines("instance:", "  tags:", "    a/b: x"), `bad.yaml:3:10: instance.tags.a/b: tag key "a/b" cannot be served in instance metadata: use letters, digits and + - = . , _ : @ (no spaces or /), at most 128 characters, and not ".", ".." or "_index"`},
		{"both user data", yamlLines("instance:", "  user-data: x", "  user-data-file: y"), `bad.yaml:3:19: instance.user-data-file: give either "user-data" or "user-data-file", not both`},
		{"user data too big", yamlLines("instance:", "  user-data: "+strings.Repeat("x", config.MaxUserData+1)), `bad.yaml:2:14: instance.user-data: must be at most 16384 bytes (EC2's limit), got 16385`},
		{"bad zone id", yamlLines("instance:", "  availability-zone-id: us-east-1a"), `bad.yaml:2:25: instance.availability-zone-id: must look like "use1-az1", got "us-east-1a"`},
		{"bad group id", yamlLines("instance:", "  security-groups: [a, b]", "  security-group-ids: [sg-0123456789abcdef0, sg-xyz]"), `bad.yaml:3:46: instance.security-group-ids[1]: must be "sg-" followed by 8 or 17 lowercase hex digits, got "sg-xyz"`},
		{"bad product code", yamlLines("instance:", "  product-codes: [Ab]"), `bad.yaml:2:19: instance.product-codes[0]: must be a product code (lowercase letters and digits), got "Ab"`},
		{"bad device", yamlLines("instance:", "  ephemeral-devices: [sdb, 1x]"), `bad.yaml:2:28: instance.ephemeral-devices[1]: must be a device name such as sdb, got "1x"`},
		{"negative launch index", yamlLines("instance:", "  ami-launch-index: -1"), `bad.yaml:2:21: instance.ami-launch-index: must be 0 or more, got -1`},
		{"partition past 7", yamlLines("instance:", "  partition-number: 8"), `bad.yaml:2:21: instance.partition-number: must be from 1 to 7 (a partition placement group has at most 7), got 8`},
		{"negative burst", yamlLines("throttle:", "  burst: -1"), `bad.yaml:2:10: throttle.burst: must be 0 (the rate rounded up) or more, got -1`},
		{"host label too long", yamlLines("allowed-hosts: [a." + strings.Repeat("b", 64) + "]"), `bad.yaml:1:17: allowed-hosts[0]: must be a host name such as imdsemu.internal (letters, digits, - and _, labels of at most 63), got "a.` + strings.Repeat("b", 64) + `"`},
		{"host label starts with -", yamlLines("allowed-hosts: [-a.example]"), `bad.yaml:1:17: allowed-hosts[0]: must be a host name such as imdsemu.internal (letters, digits, - and _, labels of at most 63), got "-a.example"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("bad.yaml", tc.data)
			var e *config.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse() = %v, want a *config.Error", err)
			}
			if got := e.Error(); got != tc.want {
				t.Errorf("Parse() error\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestApplyEnv_IMDS(t *testing.T) {
	env := map[string]string{
		config.EnvHopLimit:             "3",
		config.EnvIPv6Addr:             "[fd00:ec2::254]:80",
		config.EnvECSAddr:              "127.0.0.1:1341",
		config.EnvExtendedCredentials:  "false",
		config.EnvInstanceMetadataTags: "true",
		config.EnvThrottleRPS:          "5",
		config.EnvThrottleBurst:        "7",
	}
	var s config.Settings
	if err := config.ApplyEnv(&s, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if s.HopLimit != 3 || s.IPv6Addr != "[fd00:ec2::254]:80" || s.ECSAddr != "127.0.0.1:1341" || s.ExtendedCredentials == nil ||
		*s.ExtendedCredentials || !s.InstanceMetadataTags || s.Throttle != (config.Throttle{RPS: 5, Burst: 7}) {
		t.Errorf("ApplyEnv = %+v", s)
	}
	bad := map[string]string{
		config.EnvHopLimit:            "65", // 0 means the default, as in the file and on the flag
		config.EnvExtendedCredentials: "sometimes",
		config.EnvThrottleRPS:         "-2",
		config.EnvThrottleBurst:       "x",
		config.EnvECSAddr:             "nowhere",
	}
	var t2 config.Settings
	err := config.ApplyEnv(&t2, func(k string) string { return bad[k] })
	var names []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ce *config.Error
		if errors.As(e, &ce) {
			names = append(names, ce.Field)
		}
	}
	want := []string{config.EnvECSAddr, config.EnvHopLimit, config.EnvExtendedCredentials, config.EnvThrottleRPS, config.EnvThrottleBurst}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("bad variables (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(config.Settings{}, t2); diff != "" {
		t.Errorf("bad values changed settings (-want +got):\n%s", diff)
	}
}

func TestInstance_ReadUserData(t *testing.T) {
	dir := t.TempDir()
	ok, big := filepath.Join(dir, "ok.sh"), filepath.Join(dir, "big.sh")
	if err := os.WriteFile(ok, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, bytes.Repeat([]byte("x"), config.MaxUserData+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   config.Instance
		want string
		err  string
	}{
		{config.Instance{}, "", ""},
		{config.Instance{UserData: "inline"}, "inline", ""},
		{config.Instance{UserDataFile: ok}, "#!/bin/sh\n", ""},
		{config.Instance{UserDataFile: big}, "", "instance.user-data-file: " + big + " is 16385 bytes; EC2 allows at most 16384"},
		{config.Instance{UserDataFile: filepath.Join(dir, "missing")}, "", "instance.user-data-file: open "},
	} {
		got, err := tc.in.ReadUserData()
		if tc.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("ReadUserData(%+v) = %v; want an error starting %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("ReadUserData(%+v) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
