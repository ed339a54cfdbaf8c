package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxUserData is EC2's limit on user data: 16 KB before base64 encoding.
const MaxUserData = 16 << 10

// Immutable after package initialisation and safe for concurrent use.
var (
	zoneSuffixRe  = regexp.MustCompile(`^(-[a-z0-9-]+)?[a-z]$`)
	tagKeyRe      = regexp.MustCompile(`^[A-Za-z0-9+\-=.,_:@]{1,128}$`)
	sgIDRe        = regexp.MustCompile(`^sg-([0-9a-f]{8}|[0-9a-f]{17})$`)
	productCodeRe = regexp.MustCompile(`^[a-z0-9]+$`)
	deviceRe      = regexp.MustCompile(`^(/dev/)?[a-z][a-z0-9]*$`)
	// Label lengths are checked apart: {0,61} twice compiled to 0.2 MB
	// at every start (internal/pattern says why).
	hostNameRe = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$`)
)

// Validate checks the settings and returns every problem as a *Error whose
// Field is the setting's YAML path, joined with errors.Join. String settings
// are checked by their tags (see checkTags); empty ones pass, except that an
// enumerated setting must have one of its values. Rotation interval and
// session duration must be at least 1s and the interval shorter.
func (s Settings) Validate() error {
	var errs []error
	add := func(field, msg string) { errs = append(errs, &Error{Field: field, Msg: msg}) }
	checkTags(reflect.ValueOf(s), "", add)

	r := s.Rotation
	intervalOK, sessionOK := r.Interval >= time.Second, r.SessionDuration >= time.Second
	if !intervalOK {
		add("rotation.interval", fmt.Sprintf("must be at least 1s, got %s", r.Interval))
	}
	if !sessionOK {
		add("rotation.session-duration", fmt.Sprintf("must be at least 1s, got %s", r.SessionDuration))
	}
	if intervalOK && sessionOK && r.Interval >= r.SessionDuration {
		add("rotation.interval", fmt.Sprintf("must be shorter than rotation.session-duration (%s), got %s", r.SessionDuration, r.Interval))
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
	for i, h := range s.AllowedHosts {
		if msg := checkHostName(h); msg != "" {
			add(index("allowed-hosts", i), msg)
		}
	}
	if s.MaxConnections < 0 || s.MaxConnections > maxConnections {
		add("max-connections", fmt.Sprintf("must be 0 (the default: a quarter of the open-file limit) or from 1 to %d, got %d", maxConnections, s.MaxConnections))
	}
	s.Instance.validate("instance", add)
	s.validateInstances(add)
	s.validateFaults(add)
	return errors.Join(errs...)
}

// validate checks what the tags of in's fields cannot: tags and user data.
// path is the instance's YAML path.
func (in Instance) validate(path string, add func(field, msg string)) {
	for _, k := range slices.Sorted(maps.Keys(in.Tags)) {
		field := path + ".tags." + k
		if !tagKeyRe.MatchString(k) || k == "." || k == ".." || k == "_index" {
			add(field, fmt.Sprintf(`tag key %q cannot be served in instance metadata: use letters, digits and + - = . , _ : @ (no spaces or /), at most 128 characters, and not ".", ".." or "_index"`, k))
		}
		if len(in.Tags[k]) > 256 {
			add(field, fmt.Sprintf("must be at most 256 characters, got %d", len(in.Tags[k])))
		}
	}
	if len(in.SecurityGroups) != len(in.SecurityGroupIDs) {
		add(path+".security-group-ids", fmt.Sprintf("must give one id per name in security-groups (%d names), got %d", len(in.SecurityGroups), len(in.SecurityGroupIDs)))
	}
	for i, id := range in.SecurityGroupIDs {
		if !sgIDRe.MatchString(id) {
			add(index(path+".security-group-ids", i), fmt.Sprintf(`must be "sg-" followed by 8 or 17 lowercase hex digits, got %q`, id))
		}
	}
	for i, c := range in.ProductCodes {
		if !productCodeRe.MatchString(c) {
			add(index(path+".product-codes", i), fmt.Sprintf("must be a product code (lowercase letters and digits), got %q", c))
		}
	}
	for _, l := range []struct {
		key  string
		devs []string
	}{{"ebs-devices", in.EBSDevices}, {"ephemeral-devices", in.EphemeralDevices}} {
		for i, d := range l.devs {
			if !deviceRe.MatchString(d) {
				add(index(path+"."+l.key, i), fmt.Sprintf("must be a device name such as sdb, got %q", d))
			}
		}
	}
	if in.AMILaunchIndex < 0 {
		add(path+".ami-launch-index", fmt.Sprintf("must be 0 or more, got %d", in.AMILaunchIndex))
	}
	if in.PartitionNumber < 0 || in.PartitionNumber > 7 {
		add(path+".partition-number", fmt.Sprintf("must be from 1 to 7 (a partition placement group has at most 7), got %d", in.PartitionNumber))
	} else if in.PartitionNumber > 0 && in.PlacementGroup == "" {
		add(path+".partition-number", "needs placement-group: the partition placement group's name")
	}
	if in.PublicKey != "" && in.KeyName == "" {
		add(path+".public-key", "needs key-name: public-keys/0 is listed as 0=KEY-NAME")
	}
	if in.UserData != "" && in.UserDataFile != "" {
		add(path+".user-data-file", `give either "user-data" or "user-data-file", not both`)
	}
	if len(in.UserData) > MaxUserData {
		add(path+".user-data", fmt.Sprintf("must be at most %d bytes (EC2's limit), got %d", MaxUserData, len(in.UserData)))
	}
}

// checkTags checks the string fields of v, a struct, and of the structs in
// it, by their tags: enum lists the allowed values ("|"-separated); match is
// a regular expression and must says, for the message, what a match is;
// check names a check below (addr, ipv4, mac, zone: one of the sibling
// Region's zones).
func checkTags(v reflect.Value, prefix string, add func(field, msg string)) {
	for i := range v.NumField() {
		sf, f := v.Type().Field(i), v.Field(i)
		path := prefix
		if name := strings.Split(sf.Tag.Get("yaml"), ",")[0]; name != "" {
			path = join(prefix, name)
		}
		switch {
		case f.Kind() == reflect.Struct:
			checkTags(f, path, add)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct:
			for i := range f.Len() {
				checkTags(f.Index(i), index(path, i), add)
			}
		}
		if f.Kind() != reflect.String {
			continue
		}
		val := f.String()
		if enum := sf.Tag.Get("enum"); enum != "" {
			if msg := checkEnum(val, strings.Split(enum, "|")...); msg != "" {
				add(path, msg)
			}
		}
		if val == "" {
			continue
		}
		if re := sf.Tag.Get("match"); re != "" && !regexp.MustCompile(re).MatchString(val) {
			add(path, fmt.Sprintf("must %s, got %q", sf.Tag.Get("must"), val))
		}
		var msg string
		switch sf.Tag.Get("check") {
		case "addr":
			msg = checkAddr(val)
		case "ipv4":
			if ip, err := netip.ParseAddr(val); err != nil || !ip.Is4() {
				msg = fmt.Sprintf("must be an IPv4 address such as 10.0.0.1, got %q", val)
			}
		case "cidr4":
			if p, err := netip.ParsePrefix(val); err != nil || !p.Addr().Is4() || p != p.Masked() {
				msg = fmt.Sprintf("must be an IPv4 CIDR block such as 10.0.0.0/16, got %q", val)
			}
		case "ipv6":
			if ip, err := netip.ParseAddr(val); err != nil || !ip.Is6() || ip.Is4In6() {
				msg = fmt.Sprintf("must be an IPv6 address such as 2600:1f18::5, got %q", val)
			}
		case "mac":
			if hw, err := net.ParseMAC(val); err != nil || len(hw) != 6 {
				msg = fmt.Sprintf("must be a MAC address such as 0e:00:0a:00:00:01, got %q", val)
			}
		case "zone":
			region := v.FieldByName("Region").String()
			if suffix, ok := strings.CutPrefix(val, region); !ok || region == "" || !zoneSuffixRe.MatchString(suffix) {
				msg = fmt.Sprintf("must be a zone of region %q such as %q, got %q", region, region+"a", val)
			}
		}
		if msg != "" {
			add(path, msg)
		}
	}
}

func checkAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf(`must be host:port such as "127.0.0.1:1338", got %q`, addr)
	}
	if strings.ContainsAny(host, " \t") {
		return fmt.Sprintf("host must not contain spaces, got %q", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Sprintf("port must be a number from 0 to 65535, got %q", addr)
	}
	return ""
}

// maxConnections bounds max-connections: a listener cannot hold more
// connections than a process can have files open (fs.nr_open's default).
const maxConnections = 1 << 20

// checkHostName checks one allowed-hosts entry: a DNS name (letters,
// digits, "-" and "_" in labels of at most 63, 253 in all; a trailing dot
// is allowed), with no port. IP literals are refused: they are always
// allowed, so listing one says the author expected something else.
func checkHostName(h string) string {
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return fmt.Sprintf("IP addresses are always allowed; list host names only, got %q", h)
	}
	if _, port, err := net.SplitHostPort(h); err == nil {
		return fmt.Sprintf("must be a host name without a port (names are allowed on every port), got %q; use %q", h, strings.TrimSuffix(h, ":"+port))
	}
	name := strings.TrimSuffix(h, ".")
	if !hostNameRe.MatchString(h) || len(name) > 253 || slices.ContainsFunc(strings.Split(name, "."), func(l string) bool { return len(l) > 63 }) {
		return fmt.Sprintf("must be a host name such as imdsemu.internal (letters, digits, - and _, labels of at most 63), got %q", h)
	}
	return ""
}

func checkEnum(v string, allowed ...string) string {
	if slices.Contains(allowed, v) {
		return ""
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = strconv.Quote(a)
	}
	return fmt.Sprintf("must be %s, got %q", strings.Join(quoted, " or "), v)
}
