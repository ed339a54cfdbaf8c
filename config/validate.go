package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/internal/pattern"
)

// MaxUserData is EC2's limit on user data: 16 KB before base64 encoding.
const MaxUserData = 16 << 10

// Immutable after package initialisation and safe for concurrent use. No
// counted repetitions here: each costs its compiled size in every process
// (internal/pattern).
var (
	zoneSuffixRe = pattern.Lazy(`^(-[a-z0-9-]+)?[a-z]$`)
	tagKeyRe     = pattern.MustCompile(`^[A-Za-z0-9+\-=.,_:@]+$`, 1, 128)
	// Label lengths are checked apart: {0,61} twice compiled to 0.2 MB
	// at every start (internal/pattern says why).
	hostNameRe = pattern.Lazy(`^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$`)
)

// Validate checks the settings and returns every problem as a *Error whose
// Field is the setting's YAML path, joined with errors.Join. String settings
// are checked by their tags (see tagChecker); empty ones pass, except that an
// enumerated setting must have one of its values. Rotation interval and
// session duration must be at least 1s and the interval shorter.
func (s Settings) Validate() error {
	var errs []error
	add := func(field, msg string) { errs = append(errs, &Error{Field: field, Msg: msg}) }
	(&tagChecker{add: add}).check(reflect.ValueOf(s))

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
	if t := s.Throttle; t.RPS < 0 || math.IsNaN(t.RPS) || math.IsInf(t.RPS, 0) {
		add("throttle.rps", fmt.Sprintf("must be 0 (off) or a positive number of requests a second, got %v", t.RPS))
	}
	s.Instance.validate("instance", add)
	s.validateInstances(add)
	s.validateFaults(add)
	return errors.Join(errs...)
}

// validate checks what the tags of in's fields cannot: tags, fields that
// go together, user data.
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
	if in.PartitionNumber > 0 && in.PartitionNumber <= 7 && in.PlacementGroup == "" {
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

// ReadUserData returns the instance's user data: UserData, or the contents
// of UserDataFile, which may hold at most MaxUserData bytes (Validate has
// checked UserData).
func (in Instance) ReadUserData() ([]byte, error) {
	if in.UserDataFile == "" {
		return []byte(in.UserData), nil
	}
	b, err := os.ReadFile(in.UserDataFile)
	if err != nil {
		return nil, fmt.Errorf("instance.user-data-file: %w", err)
	}
	if len(b) > MaxUserData {
		return nil, fmt.Errorf("instance.user-data-file: %s is %d bytes; EC2 allows at most %d", in.UserDataFile, len(b), MaxUserData)
	}
	return b, nil
}

// tagChecker checks the fields of v, a struct, and of the structs in it, by
// their tags. A string, or each string of a list: enum lists the allowed
// values ("|"-separated; an enumerated setting may not be empty); match is
// a regular expression and must says, for the message, what a match is;
// check names a check below (addr, host, ipv4, cidr4, ipv6, mac, zone: one
// of the sibling Region's zones). A whole number: min and max bound it,
// and must says what is allowed.
//
// A tagChecker compiles each match pattern, and lists each struct type's
// fields, once per Validate, not once per value: a config of thousands of
// instances checks the same few patterns and structs thousands of times.
type tagChecker struct {
	add      func(field, msg string)
	patterns map[string]*regexp.Regexp
	fields   fieldCache
	at       []pathElem // the field being checked, and the fields it is in
}

func (c *tagChecker) check(v reflect.Value) {
	for _, fd := range c.fields.of(v.Type()) {
		sf, f := v.Type().FieldByIndex(fd.index), v.FieldByIndex(fd.index)
		c.at = append(c.at, pathElem{key: fd.key})
		switch {
		case f.Kind() == reflect.Struct:
			c.check(f)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct:
			for i := range f.Len() {
				c.at = append(c.at, pathElem{i: i})
				c.check(f.Index(i))
				c.at = c.at[:len(c.at)-1]
			}
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
			for i := range f.Len() {
				c.at = append(c.at, pathElem{i: i})
				c.checkString(v, sf.Tag, f.Index(i).String())
				c.at = c.at[:len(c.at)-1]
			}
		case f.Kind() == reflect.String:
			c.checkString(v, sf.Tag, f.String())
		case f.Kind() == reflect.Int:
			lo, hasLo := sf.Tag.Lookup("min")
			hi, hasHi := sf.Tag.Lookup("max")
			if n := f.Int(); hasLo && n < atoi(lo) || hasHi && n > atoi(hi) {
				c.add(c.path(), fmt.Sprintf("must %s, got %d", sf.Tag.Get("must"), n))
			}
		}
		c.at = c.at[:len(c.at)-1]
	}
}

// pathElem is a step of tagChecker.at: a key, or "" and the index of an
// element of a list.
type pathElem struct {
	key string
	i   int
}

// path is where the checker is ("instances[3].match.sources[0]"). It is
// written out only for a message: a config of thousands of instances checks
// tens of thousands of fields, and writing each one's path was a tenth of
// what a start of 10,000 instances allocated.
func (c *tagChecker) path() string {
	var s string
	for _, e := range c.at {
		if e.key == "" {
			s = index(s, e.i)
		} else {
			s = join(s, e.key)
		}
	}
	return s
}

// atoi is a number of a min or max tag (the tags are tested).
func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// field is v's field of YAML key.
func (c *tagChecker) field(v reflect.Value, key string) reflect.Value {
	for _, fd := range c.fields.of(v.Type()) {
		if fd.key == key {
			return v.FieldByIndex(fd.index)
		}
	}
	return reflect.Value{}
}

// pattern is the compiled match tag re (the tags are tested).
func (c *tagChecker) pattern(re string) *regexp.Regexp {
	if c.patterns == nil {
		c.patterns = map[string]*regexp.Regexp{}
	}
	p, ok := c.patterns[re]
	if !ok {
		p = regexp.MustCompile(re)
		c.patterns[re] = p
	}
	return p
}

// checkString checks val, the value of a field of v with tag, at c.path().
func (c *tagChecker) checkString(v reflect.Value, tag reflect.StructTag, val string) {
	if enum := tag.Get("enum"); enum != "" {
		if msg := checkEnum(val, strings.Split(enum, "|")...); msg != "" {
			c.add(c.path(), msg)
		}
	}
	if val == "" {
		return
	}
	if re := tag.Get("match"); re != "" && !c.pattern(re).MatchString(val) {
		c.add(c.path(), fmt.Sprintf("must %s, got %q", tag.Get("must"), val))
	}
	var msg string
	switch tag.Get("check") {
	case "addr":
		msg = checkAddr(val)
	case "host":
		msg = checkHostName(val)
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
		region := c.field(v, "region").String()
		if suffix, ok := strings.CutPrefix(val, region); !ok || region == "" || !zoneSuffixRe.MatchString(suffix) {
			msg = fmt.Sprintf("must be a zone of region %q such as %q, got %q", region, region+"a", val)
		}
	}
	if msg != "" {
		c.add(c.path(), msg)
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
