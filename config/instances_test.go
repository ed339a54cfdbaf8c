package config_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/imdsemu/imdsemu/config"
)

const threeInstances = `
roles: [{name: web}, {name: worker}, {name: batch}]
instance-profiles:
  - {name: web, role: web}
  - {name: worker, role: worker}
  - {name: batch, role: batch}
instances:
  - id: i-0000000000000000a
    profile: web
    tags: {app: web}
    match: {sources: [10.77.1.2, "fd00:77::/64"]}
  - id: i-0000000000000000b
    profile: worker
    region: eu-west-1
    user-data: "#!/bin/sh"
    match: {sources: [10.77.2.0/24]}
  - id: i-0000000000000000c
    profile: batch
    match: {listen: "127.0.0.1:0"}
default-instance: i-0000000000000000c
`

func TestParse_Instances(t *testing.T) {
	f, err := config.Parse("multi.yaml", []byte(threeInstances))
	if err != nil {
		t.Fatal(err)
	}
	entries, def := f.Settings.ServedInstances()
	if len(entries) != 3 || def != "i-0000000000000000c" {
		t.Fatalf("ServedInstances = %d entries, default %q", len(entries), def)
	}
	a, b := entries[0], entries[1]
	if a.Account != config.DefaultAccountID || a.Type != config.DefaultInstanceType || a.Region != config.DefaultRegion || a.Tags["app"] != "web" {
		t.Errorf("instances[0] = %+v, want the defaults filled in", a.Instance)
	}
	if b.Region != "eu-west-1" || b.AvailabilityZone != "" || b.UserData != "#!/bin/sh" || b.Profile != "worker" {
		t.Errorf("instances[1] = %+v", b.Instance)
	}
	ps, err := a.Match.Prefixes()
	if err != nil || len(ps) != 2 || ps[0] != netip.MustParsePrefix("10.77.1.2/32") || ps[1] != netip.MustParsePrefix("fd00:77::/64") {
		t.Errorf("instances[0] prefixes = %v, %v", ps, err)
	}
}

func TestParse_SingleInstanceServesEveryone(t *testing.T) {
	f, err := config.Parse("one.yaml", []byte("instance: {id: i-0000000000000000e}\n"))
	if err != nil {
		t.Fatal(err)
	}
	entries, def := f.Settings.ServedInstances()
	if len(entries) != 1 || def != "i-0000000000000000e" || entries[0].ID != def {
		t.Errorf("ServedInstances = %+v, %q", entries, def)
	}
}

func TestParse_InstancesErrors(t *testing.T) {
	for name, tc := range map[string]struct{ old, new, want string }{
		"both forms":       {"instances:\n", "instance: {id: i-0000000000000000d}\ninstances:\n", "multi.yaml:8:1: instances: give either"},
		"missing id":       {"  - id: i-0000000000000000b\n", "  - type: t3.large\n", "multi.yaml:12:5: instances[1].id: is required"},
		"duplicate id":     {"id: i-0000000000000000b", "id: i-0000000000000000a", `instances[1].id: "i-0000000000000000a" is also the id of instances[0]`},
		"bad source":       {"10.77.2.0/24", "10.77.2.0/33", `multi.yaml:16:23: instances[1].match.sources[0]: must be an IP address or a CIDR block`},
		"duplicate source": {"10.77.2.0/24", "10.77.1.2", "instances[1].match.sources[0]: 10.77.1.2/32 is also a source of instances[0]"},
		"mapped duplicate": {"10.77.2.0/24", `"::ffff:10.77.1.2"`, "is also a source of instances[0]"},
		"no match":         {"    match: {sources: [10.77.2.0/24]}\n", "", "multi.yaml:12:5: instances[1].match: needs sources or listen"},
		"unknown default":  {"default-instance: i-0000000000000000c", "default-instance: i-0000000000000000f", `default-instance: "i-0000000000000000f" is not the id of one of instances`},
		"unknown profile":  {"profile: batch", "profile: nope", `multi.yaml:18:14: instances[2].profile: "nope" is not an instance profile in account 123456789012`},
		"shared profile":   {"profile: batch", "profile: web", `instances[2].profile: "web" is also the profile of instances[0]`},
		"unknown key":      {"match: {listen:", "match: {port: 1, listen:", "instances[2].match.port"},
	} {
		t.Run(name, func(t *testing.T) {
			data := strings.Replace(threeInstances, tc.old, tc.new, 1)
			_, err := config.Parse("multi.yaml", []byte(data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse = %v\nwant an error containing %s", err, tc.want)
			}
		})
	}
	if _, err := config.Parse("one.yaml", []byte("default-instance: i-0000000000000000f\n")); err == nil || !strings.Contains(err.Error(), "default-instance: needs instances:") {
		t.Errorf("default-instance without instances: %v", err)
	}
}

// instance: and each entry of instances: resolve their account by one
// rule: the seed's only account (implied ones too), else that of their
// profile.
func TestParse_InstancesResolveAccountsLikeInstance(t *testing.T) {
	const oneImplied = `
roles: [{name: web, account: "222222222222"}]
instance-profiles: [{name: web, role: web, account: "222222222222"}]
`
	for name, data := range map[string]string{
		"instance":  oneImplied + "instance: {profile: web}\n",
		"instances": oneImplied + "instances: [{id: i-0000000000000000a, profile: web, match: {listen: \"127.0.0.1:0\"}}]\n",
	} {
		f, err := config.Parse("one.yaml", []byte(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if entries, _ := f.Settings.ServedInstances(); entries[0].Account != "222222222222" || entries[0].Profile != "web" {
			t.Errorf("%s: account %q, profile %q; want the only account's", name, entries[0].Account, entries[0].Profile)
		}
	}
	const twoAccounts = `
accounts: [{id: "111111111111"}, {id: "222222222222"}]
roles: [{name: web, account: "111111111111"}, {name: web, account: "222222222222"}]
instance-profiles: [{name: web, role: web, account: "111111111111"}, {name: web, role: web, account: "222222222222"}]
`
	for data, want := range map[string]string{
		twoAccounts + "instance: {profile: web}\n":                                                               `two.yaml:5:11: instance.account: is required: instance profile "web" is in 2 accounts`,
		twoAccounts + "instances: [{id: i-0000000000000000a, profile: web, match: {listen: \"127.0.0.1:0\"}}]\n": `two.yaml:5:13: instances[0].account: is required: instance profile "web" is in 2 accounts`,
	} {
		if _, err := config.Parse("two.yaml", []byte(data)); err == nil || err.Error() != want {
			t.Errorf("Parse = %v\nwant %s", err, want)
		}
	}
}
