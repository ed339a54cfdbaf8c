package config

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Immutable after package initialisation and safe for concurrent use.
var (
	instanceIDRe   = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
	instanceTypeRe = regexp.MustCompile(`^[a-z0-9-]+\.[a-z0-9-]+$`)
	regionRe       = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	zoneSuffixRe   = regexp.MustCompile(`^(-[a-z0-9-]+)?[a-z]$`)
	accountIDRe    = regexp.MustCompile(`^[0-9]{12}$`)
	profileNameRe  = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
)

// Validate checks the settings: the enumerated values, that addresses are
// host:port (empty means the CLI's default), that rotation interval and
// session duration are at least 1s and the interval is shorter than the
// session duration, and the instance's identifiers when set. It returns every
// problem as a *Error whose Field is the setting's YAML path, joined with
// errors.Join.
func (s Settings) Validate() error {
	var errs []error
	add := func(field, msg string) { errs = append(errs, &Error{Field: field, Msg: msg}) }

	for _, a := range []struct{ field, value string }{
		{"metadata-addr", s.MetadataAddr},
		{"admin-addr", s.AdminAddr},
		{"sts-addr", s.STSAddr},
	} {
		if msg := checkAddr(a.value); msg != "" {
			add(a.field, msg)
		}
	}
	if msg := checkEnum(s.HTTPTokens, HTTPTokensOptional, HTTPTokensRequired); msg != "" {
		add("http-tokens", msg)
	}
	if msg := checkEnum(s.HTTPEndpoint, HTTPEndpointEnabled, HTTPEndpointDisabled); msg != "" {
		add("http-endpoint", msg)
	}
	if msg := checkEnum(s.LogFormat, LogFormatText, LogFormatJSON); msg != "" {
		add("log-format", msg)
	}

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

	in := s.Instance
	if in.ID != "" && !instanceIDRe.MatchString(in.ID) {
		add("instance.id", fmt.Sprintf(`must be "i-" followed by 8 or 17 lowercase hex digits, got %q`, in.ID))
	}
	if in.Type != "" && !instanceTypeRe.MatchString(in.Type) {
		add("instance.type", fmt.Sprintf(`must look like "t3.micro", got %q`, in.Type))
	}
	if in.Region != "" && !regionRe.MatchString(in.Region) {
		add("instance.region", fmt.Sprintf(`must look like "us-east-1", got %q`, in.Region))
	}
	if in.AvailabilityZone != "" {
		suffix, ok := strings.CutPrefix(in.AvailabilityZone, in.Region)
		if !ok || in.Region == "" || !zoneSuffixRe.MatchString(suffix) {
			add("instance.availability-zone", fmt.Sprintf("must be a zone of region %q such as %q, got %q",
				in.Region, in.Region+"a", in.AvailabilityZone))
		}
	}
	if in.Account != "" && !accountIDRe.MatchString(in.Account) {
		add("instance.account", fmt.Sprintf("must be 12 digits, got %q", in.Account))
	}
	if in.Profile != "" && !profileNameRe.MatchString(in.Profile) {
		add("instance.profile", fmt.Sprintf(`must match [\w+=,.@-]{1,128}, got %q`, in.Profile))
	}
	s.validateIMDS(add)
	s.validateFaults(add)
	return errors.Join(errs...)
}

func checkAddr(addr string) string {
	if addr == "" {
		return ""
	}
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

func checkEnum(v string, allowed ...string) string {
	for _, a := range allowed {
		if v == a {
			return ""
		}
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = strconv.Quote(a)
	}
	return fmt.Sprintf("must be %s, got %q", strings.Join(quoted, " or "), v)
}
