package config

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"

	"github.com/imdsemu/imdsemu/rolestore"
)

// InstanceEntry is one instance of the instances: list: an instance as the
// instance: section describes one, and the metadata clients it serves.
type InstanceEntry struct {
	Instance `yaml:",inline"`
	Match    Match `yaml:"match"`
}

// Match says which metadata clients an instance serves: those whose source
// address is one of Sources (an address or a CIDR block, IPv4 or IPv6; the
// longest matching prefix of all instances wins), and every client of its
// own metadata listener Listen.
type Match struct {
	Sources []string `yaml:"sources"`
	Listen  string   `yaml:"listen" check:"addr"`
}

// Prefixes are m.Sources parsed by ParseSource; Validate has checked them.
func (m Match) Prefixes() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(m.Sources))
	for _, s := range m.Sources {
		p, err := ParseSource(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ParseSource parses a source address ("10.0.0.5", "fd00::5") as a prefix
// of its full length, or a CIDR block ("10.0.0.0/24", "fd00::/64"), masked.
// IPv4-mapped IPv6 addresses and blocks become IPv4, as the router sees
// clients.
func ParseSource(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("must be an IP address or a CIDR block such as 10.0.0.5, 10.0.1.0/24 or fd00::/64, got %q", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("must be an IP address or a CIDR block such as 10.0.0.5, 10.0.1.0/24 or fd00::/64, got %q", s)
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// ServedInstances are the instances serve emulates, and the id of the one
// that serves clients no instance matches ("" for none: those get 404).
// With the single instance: form that is the one instance, serving every
// client.
func (s Settings) ServedInstances() (entries []InstanceEntry, defaultID string) {
	if len(s.Instances) == 0 {
		return []InstanceEntry{{Instance: s.Instance}}, s.Instance.ID
	}
	return s.Instances, s.DefaultInstance
}

// validateInstances checks the instances: list: ids given and unique,
// sources valid and each claimed by one instance, listeners unique, every
// instance reachable, and default-instance naming one of them.
func (s Settings) validateInstances(add func(field, msg string)) {
	if len(s.Instances) == 0 {
		if s.DefaultInstance != "" {
			add("default-instance", "needs instances: (the single instance: section serves every client)")
		}
		return
	}
	ids := map[string]int{}
	sources := map[netip.Prefix]int{}
	listens := map[string]int{}
	for i, e := range s.Instances {
		path := index("instances", i)
		e.Instance.validate(path, add)
		if e.ID == "" {
			add(join(path, "id"), "is required: each instance needs its own id")
		} else if j, dup := ids[e.ID]; dup {
			add(join(path, "id"), fmt.Sprintf("%q is also the id of instances[%d]", e.ID, j))
		} else {
			ids[e.ID] = i
		}
		for k, src := range e.Match.Sources {
			field := index(join(path, "match.sources"), k)
			p, err := ParseSource(src)
			if err != nil {
				add(field, err.Error())
				continue
			}
			if j, dup := sources[p]; dup {
				add(field, fmt.Sprintf("%s is also a source of instances[%d]", p, j))
				continue
			}
			sources[p] = i
		}
		if l := e.Match.Listen; l != "" {
			if j, dup := listens[l]; dup {
				add(join(path, "match.listen"), fmt.Sprintf("%s is also the listener of instances[%d]", l, j))
			} else {
				listens[l] = i
			}
		}
		if len(e.Match.Sources) == 0 && e.Match.Listen == "" && (e.ID == "" || e.ID != s.DefaultInstance) {
			add(join(path, "match"), "needs sources or listen (or name this instance in default-instance)")
		}
	}
	if d := s.DefaultInstance; d != "" {
		if _, ok := ids[d]; !ok {
			add("default-instance", fmt.Sprintf("%q is not the id of one of instances", d))
		}
	}
}

// instances fills in and checks the accounts and profiles of the file's
// instances, instance: or each of instances:, by one rule (resolveInstance).
// Entries of instances: start empty where instance: starts from Default's:
// they default type, region and zone here, and no two may share an
// instance profile (imdsemu keeps one session per profile).
func (d *decoder) instances(f *File, declared bool) {
	if len(f.Settings.Instances) == 0 {
		in := &f.Settings.Instance
		defaultProfile := false
		if declared {
			// Default's account and profile are not the file's.
			if !d.set("instance.account") {
				in.Account = ""
			}
			if !d.set("instance.profile") {
				in.Profile, defaultProfile = "", true
			}
		}
		d.resolveInstance("instance", in, f.Seed, declared, defaultProfile)
		return
	}
	attached := map[string]int{}
	for i := range f.Settings.Instances {
		e := &f.Settings.Instances[i]
		path := index("instances", i)
		if e.Type == "" {
			e.Type = DefaultInstanceType
		}
		if e.Region == "" && e.AvailabilityZone == "" {
			e.Region, e.AvailabilityZone = DefaultRegion, DefaultAvailabilityZone
		}
		if !d.resolveInstance(path, &e.Instance, f.Seed, declared, false) || e.Profile == "" {
			continue
		}
		key := e.Account + "/" + strings.ToLower(e.Profile)
		if j, dup := attached[key]; dup {
			d.addAt(join(path, "profile"), "", fmt.Sprintf("%q is also the profile of instances[%d]; give each instance its own instance profile (imdsemu keeps one session per profile)", e.Profile, j))
			continue
		}
		attached[key] = i
	}
}

// resolveInstance resolves the user data file of the instance at path
// against the config file, and its account and profile against the seed:
// an account given must be declared (when the file declares entities);
// else the account is the seed's only one, or that of the only instance
// profile named Profile. With defaultProfile, the profile is the only one
// in that account (none if there is none). A profile given must exist. It
// reports whether all is well.
func (d *decoder) resolveInstance(path string, in *Instance, s rolestore.Seed, declared, defaultProfile bool) bool {
	if in.UserDataFile != "" && !filepath.IsAbs(in.UserDataFile) {
		in.UserDataFile = filepath.Join(filepath.Dir(d.file), in.UserDataFile)
	}
	account, profile := join(path, "account"), join(path, "profile")
	switch {
	case in.Account != "":
		if declared && !slices.ContainsFunc(s.Accounts, func(a rolestore.Account) bool { return a.ID == in.Account }) {
			d.addAt(account, "", fmt.Sprintf("%q is not a declared account", in.Account))
			return false
		}
	case len(s.Accounts) == 1:
		in.Account = s.Accounts[0].ID
	case in.Profile != "":
		var owners []string
		for _, p := range s.InstanceProfiles {
			if strings.EqualFold(p.Name, in.Profile) {
				owners = append(owners, p.AccountID)
			}
		}
		if len(owners) != 1 {
			d.addAt(account, "", fmt.Sprintf("is required: instance profile %q is in %d accounts", in.Profile, len(owners)))
			return false
		}
		in.Account = owners[0]
	default:
		d.addAt(account, "accounts", "is required when several accounts are declared")
		return false
	}
	var names []string
	for _, p := range s.InstanceProfiles {
		if p.AccountID == in.Account && (defaultProfile || strings.EqualFold(p.Name, in.Profile)) {
			names = append(names, p.Name)
		}
	}
	switch {
	case defaultProfile && len(names) > 1:
		d.addAt(profile, "instance-profiles", fmt.Sprintf("is required when account %s has several instance profiles (%s)", in.Account, strings.Join(names, ", ")))
		return false
	case defaultProfile && len(names) == 1:
		in.Profile = names[0]
	case in.Profile != "" && len(names) == 0:
		d.addAt(profile, "", fmt.Sprintf("%q is not an instance profile in account %s", in.Profile, in.Account))
		return false
	}
	return true
}
