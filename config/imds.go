package config

import (
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"regexp"
	"slices"
)

// This file checks the settings of the metadata server's protocol fidelity:
// hop limit, the IPv6 and ECS listeners, throttling, and the instance's
// metadata tree.

// MaxUserData is EC2's limit on user data: 16 KB before base64 encoding.
const MaxUserData = 16 << 10

// Immutable after package initialisation and safe for concurrent use.
var (
	amiIDRe  = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)
	zoneIDRe = regexp.MustCompile(`^[a-z]{2,}[0-9]+-az[0-9]+$`)
	tagKeyRe = regexp.MustCompile(`^[A-Za-z0-9+\-=.,_:@]{1,128}$`)
	hostRe   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$`)
)

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
