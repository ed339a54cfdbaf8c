package config

import (
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// This file holds the settings of the metadata server's protocol fidelity:
// hop limit, the IPv6 and ECS listeners, the extended credential path,
// instance metadata tags, throttling, and the instance's metadata tree.

// Throttle limits each metadata client (remote IP) to a token bucket: Burst
// requests at once, RPS a second after that. RPS 0 means off.
type Throttle struct {
	RPS   float64
	Burst int
}

// MaxUserData is EC2's limit on user data: 16 KB before base64 encoding.
const MaxUserData = 16 << 10

// Environment variables read by ApplyEnv for these settings.
const (
	EnvHopLimit             = "IMDSEMU_HOP_LIMIT"
	EnvIPv6Addr             = "IMDSEMU_IPV6_ADDR"
	EnvECSAddr              = "IMDSEMU_ECS_ADDR"
	EnvExtendedCredentials  = "IMDSEMU_EXTENDED_CREDENTIALS"
	EnvInstanceMetadataTags = "IMDSEMU_INSTANCE_METADATA_TAGS"
	EnvThrottleRPS          = "IMDSEMU_THROTTLE_RPS"
	EnvThrottleBurst        = "IMDSEMU_THROTTLE_BURST"
)

// Immutable after package initialisation and safe for concurrent use.
var (
	amiIDRe  = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)
	zoneIDRe = regexp.MustCompile(`^[a-z]{2,}[0-9]+-az[0-9]+$`)
	tagKeyRe = regexp.MustCompile(`^[A-Za-z0-9+\-=.,_:@]{1,128}$`)
	hostRe   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$`)
)

func throttleKeys() []string { return []string{"rps", "burst"} }

// instanceMetadataKeys are the keys of instance: this file decodes.
func instanceMetadataKeys() []string {
	return []string{"ami-id", "hostname", "local-ipv4", "public-ipv4", "mac", "availability-zone-id", "tags", "user-data", "user-data-file"}
}

// decodeIMDS decodes the top-level metadata server settings.
func (d *decoder) decodeIMDS(top *mapping, s *Settings) {
	d.integer(top, "hop-limit", &s.HopLimit)
	d.str(top, "ipv6-addr", &s.IPv6Addr)
	d.str(top, "ecs-addr", &s.ECSAddr)
	var ext bool
	if d.boolean(top, "extended-credentials", &ext) {
		s.ExtendedCredentials = &ext
	}
	d.boolean(top, "instance-metadata-tags", &s.InstanceMetadataTags)
	if n, ok := top.vals["throttle"]; ok {
		if m := d.mapping(n, "throttle", throttleKeys()); m != nil {
			d.number(m, "rps", &s.Throttle.RPS)
			d.integer(m, "burst", &s.Throttle.Burst)
		}
	}
}

// decodeInstanceMetadata decodes the metadata tree keys of instance:. A
// relative user-data-file is relative to the config file.
func (d *decoder) decodeInstanceMetadata(inst *mapping, in *Instance) {
	d.str(inst, "ami-id", &in.AMIID)
	d.str(inst, "hostname", &in.Hostname)
	d.str(inst, "local-ipv4", &in.LocalIPv4)
	d.str(inst, "public-ipv4", &in.PublicIPv4)
	d.str(inst, "mac", &in.MAC)
	d.str(inst, "availability-zone-id", &in.AvailabilityZoneID)
	d.str(inst, "user-data", &in.UserData)
	if d.str(inst, "user-data-file", &in.UserDataFile) && in.UserDataFile != "" && !filepath.IsAbs(in.UserDataFile) && d.file != "" {
		in.UserDataFile = filepath.Join(filepath.Dir(d.file), in.UserDataFile)
	}
	if n, ok := inst.vals["tags"]; ok {
		if tm := d.mapping(n, "instance.tags", nil); tm != nil && len(tm.order) > 0 {
			in.Tags = make(map[string]string, len(tm.order))
			for _, key := range tm.order {
				var v string
				d.str(tm, key, &v)
				in.Tags[key] = v
			}
		}
	}
}

// boolean sets *dst to the YAML boolean at key and reports whether it did.
func (d *decoder) boolean(m *mapping, key string, dst *bool) bool {
	n, ok := m.vals[key]
	if !ok {
		return false
	}
	rn := resolve(n)
	if isNull(rn) {
		return false
	}
	if rn.Kind != yaml.ScalarNode || rn.ShortTag() != "!!bool" {
		d.errorAt(n, join(m.path, key), "must be true or false, got "+kindName(rn))
		return false
	}
	v, _ := parseBool(rn.Value)
	*dst = v
	return true
}

// integer sets *dst to the whole number at key.
func (d *decoder) integer(m *mapping, key string, dst *int) {
	n, ok := m.vals[key]
	if !ok {
		return
	}
	rn := resolve(n)
	if isNull(rn) {
		return
	}
	v, err := strconv.Atoi(rn.Value)
	if rn.Kind != yaml.ScalarNode || err != nil {
		d.errorAt(n, join(m.path, key), "must be a whole number, got "+kindName(rn))
		return
	}
	*dst = v
}

// number sets *dst to the number at key.
func (d *decoder) number(m *mapping, key string, dst *float64) {
	n, ok := m.vals[key]
	if !ok {
		return
	}
	rn := resolve(n)
	if isNull(rn) {
		return
	}
	v, err := strconv.ParseFloat(rn.Value, 64)
	if rn.Kind != yaml.ScalarNode || err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		d.errorAt(n, join(m.path, key), "must be a number, got "+kindName(rn))
		return
	}
	*dst = v
}

// parseBool accepts what YAML 1.2 and the environment commonly write.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0":
		return false, true
	}
	return false, false
}

// validateIMDS checks the metadata server settings and the instance's
// metadata tree, reporting each problem through add.
func (s Settings) validateIMDS(add func(field, msg string)) {
	for _, a := range []struct{ field, value string }{
		{"ipv6-addr", s.IPv6Addr},
		{"ecs-addr", s.ECSAddr},
	} {
		if msg := checkAddr(a.value); msg != "" {
			add(a.field, msg)
		}
	}
	if s.HopLimit != 0 && (s.HopLimit < 1 || s.HopLimit > 64) {
		add("hop-limit", fmt.Sprintf("must be from 1 to 64, got %d", s.HopLimit))
	}
	if t := s.Throttle; t.RPS < 0 || math.IsNaN(t.RPS) || math.IsInf(t.RPS, 0) {
		add("throttle.rps", fmt.Sprintf("must be 0 (off) or a positive number of requests a second, got %v", t.RPS))
	}
	if s.Throttle.Burst < 0 {
		add("throttle.burst", fmt.Sprintf("must be 0 (the rate rounded up) or more, got %d", s.Throttle.Burst))
	}

	in := s.Instance
	if in.AMIID != "" && !amiIDRe.MatchString(in.AMIID) {
		add("instance.ami-id", fmt.Sprintf(`must be "ami-" followed by 8 or 17 lowercase hex digits, got %q`, in.AMIID))
	}
	if in.Hostname != "" && !hostRe.MatchString(in.Hostname) {
		add("instance.hostname", fmt.Sprintf("must be a DNS name such as ip-10-0-0-1.ec2.internal, got %q", in.Hostname))
	}
	for _, a := range []struct{ field, value string }{
		{"instance.local-ipv4", in.LocalIPv4},
		{"instance.public-ipv4", in.PublicIPv4},
	} {
		if a.value == "" {
			continue
		}
		if ip, err := netip.ParseAddr(a.value); err != nil || !ip.Is4() {
			add(a.field, fmt.Sprintf("must be an IPv4 address such as 10.0.0.1, got %q", a.value))
		}
	}
	if in.MAC != "" {
		if hw, err := net.ParseMAC(in.MAC); err != nil || len(hw) != 6 {
			add("instance.mac", fmt.Sprintf("must be a MAC address such as 0e:00:0a:00:00:01, got %q", in.MAC))
		}
	}
	if in.AvailabilityZoneID != "" && !zoneIDRe.MatchString(in.AvailabilityZoneID) {
		add("instance.availability-zone-id", fmt.Sprintf(`must look like "use1-az1", got %q`, in.AvailabilityZoneID))
	}
	for _, k := range slices.Sorted(maps.Keys(in.Tags)) {
		v := in.Tags[k]
		field := "instance.tags." + k
		if !tagKeyRe.MatchString(k) || k == "." || k == ".." || k == "_index" {
			add(field, fmt.Sprintf(`tag key %q cannot be served in instance metadata: use letters, digits and + - = . , _ : @ (no spaces or /), at most 128 characters, and not ".", ".." or "_index"`, k))
		}
		if len(v) > 256 {
			add(field, fmt.Sprintf("must be at most 256 characters, got %d", len(v)))
		}
	}
	if in.UserData != "" && in.UserDataFile != "" {
		add("instance.user-data-file", `give either "user-data" or "user-data-file", not both`)
	}
	if len(in.UserData) > MaxUserData {
		add("instance.user-data", fmt.Sprintf("must be at most %d bytes (EC2's limit), got %d", MaxUserData, len(in.UserData)))
	}
}

// applyIMDSEnv applies the environment variables of this file's settings.
func applyIMDSEnv(s *Settings, getenv func(string) string, bad func(name, msg string)) {
	if v := getenv(EnvIPv6Addr); v != "" {
		if msg := checkAddr(v); msg != "" {
			bad(EnvIPv6Addr, msg)
		} else {
			s.IPv6Addr = v
		}
	}
	if v := getenv(EnvECSAddr); v != "" {
		if msg := checkAddr(v); msg != "" {
			bad(EnvECSAddr, msg)
		} else {
			s.ECSAddr = v
		}
	}
	if v := getenv(EnvHopLimit); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 64 {
			bad(EnvHopLimit, fmt.Sprintf("must be a whole number from 1 to 64, got %q", v))
		} else {
			s.HopLimit = n
		}
	}
	boolean := func(name string, set func(bool)) {
		v := getenv(name)
		if v == "" {
			return
		}
		b, ok := parseBool(v)
		if !ok {
			bad(name, fmt.Sprintf(`must be "true" or "false", got %q`, v))
			return
		}
		set(b)
	}
	boolean(EnvExtendedCredentials, func(b bool) { s.ExtendedCredentials = &b })
	boolean(EnvInstanceMetadataTags, func(b bool) { s.InstanceMetadataTags = b })
	if v := getenv(EnvThrottleRPS); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			bad(EnvThrottleRPS, fmt.Sprintf("must be 0 (off) or a positive number, got %q", v))
		} else {
			s.Throttle.RPS = f
		}
	}
	if v := getenv(EnvThrottleBurst); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			bad(EnvThrottleBurst, fmt.Sprintf("must be a whole number, 0 or more, got %q", v))
		} else {
			s.Throttle.Burst = n
		}
	}
}
