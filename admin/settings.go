package admin

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// OptionKeys are the keys ParseOptionSettings takes, the metadata options
// as `imdsemu options set` names them.
func OptionKeys() []string {
	return []string{"http-tokens", "http-endpoint", "hop-limit", "extended-credentials", "instance-metadata-tags", "throttle-rps", "throttle-burst"}
}

// OptionSettings are changes to the metadata options given as KEY VALUE
// pairs. Create them with ParseOptionSettings.
type OptionSettings struct {
	patch MetadataPatch
	rps   *float64
	burst *int
}

// ParseOptionSettings reads KEY VALUE pairs, such as "http-tokens required
// throttle-rps 5", with the keys of OptionKeys. The values are checked for
// their type here and for their range by the server.
func ParseOptionSettings(args []string) (OptionSettings, error) {
	var s OptionSettings
	if len(args) == 0 || len(args)%2 != 0 {
		return s, fmt.Errorf("want KEY VALUE pairs, e.g. http-tokens required")
	}
	boolean := func(k, v string) (*bool, error) {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%s: want true or false, got %q", k, v)
		}
		return &b, nil
	}
	for i := 0; i < len(args); i += 2 {
		k, v := args[i], args[i+1]
		var err error
		switch k {
		case "http-tokens":
			s.patch.HTTPTokens = &v
		case "http-endpoint":
			s.patch.HTTPEndpoint = &v
		case "hop-limit":
			n, perr := strconv.Atoi(v)
			if perr != nil {
				return s, fmt.Errorf("hop-limit: want a number from 1 to 64, got %q", v)
			}
			s.patch.HopLimit = &n
		case "extended-credentials":
			s.patch.ExtendedCredentials, err = boolean(k, v)
		case "instance-metadata-tags":
			s.patch.InstanceMetadataTags, err = boolean(k, v)
		case "throttle-rps":
			f, perr := strconv.ParseFloat(v, 64)
			if perr != nil || math.IsNaN(f) {
				return s, fmt.Errorf("throttle-rps: want a number of requests a second (0 for off), got %q", v)
			}
			s.rps = &f
		case "throttle-burst":
			n, perr := strconv.Atoi(v)
			if perr != nil {
				return s, fmt.Errorf("throttle-burst: want a whole number, got %q", v)
			}
			s.burst = &n
		default:
			return s, fmt.Errorf("unknown option %q: want one of %s", k, strings.Join(OptionKeys(), ", "))
		}
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

// ChangesThrottle reports whether s changes the throttle, which the API
// replaces whole: Patch then needs the server's current options.
func (s OptionSettings) ChangesThrottle() bool { return s.rps != nil || s.burst != nil }

// Patch returns the patch that makes the changes; cur, the current
// options, is read only when s changes the throttle. Setting a rate with
// no burst on a throttle that had none makes the burst the rate rounded
// up; a rate of 0 turns the throttle off, burst and all.
func (s OptionSettings) Patch(cur MetadataOptions) MetadataPatch {
	p := s.patch
	if !s.ChangesThrottle() {
		return p
	}
	t := cur.Throttle
	if s.rps != nil {
		t.RPS = *s.rps
		if s.burst == nil && t.Burst == 0 && t.RPS > 0 {
			t.Burst = int(math.Ceil(t.RPS))
		}
	}
	if s.burst != nil {
		t.Burst = *s.burst
	}
	if t.RPS == 0 {
		t.Burst = 0
	}
	p.Throttle = &t
	return p
}
