package fault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/internal/pattern"
)

// Action is what a rule does to the requests (or connections) it matches.
type Action string

// The actions.
const (
	// ActionLatency waits Delay before the request goes on; later rules and
	// the metadata server still answer it.
	ActionLatency Action = "latency"
	// ActionStatus answers with Status and the body real IMDS sends with it.
	ActionStatus Action = "status"
	// ActionRefuse is an outage: connections are refused. Without Client the
	// listening socket is closed (new connections get ECONNREFUSED, open ones
	// are closed) and bound again when the rule ends; with Client, matching
	// connections are accepted and reset at once.
	ActionRefuse Action = "refuse"
	// ActionBlackhole reads the request and never answers: the connection
	// is held open until the rule ends or the client gives up.
	ActionBlackhole Action = "blackhole"
	// ActionReset reads the request and resets the connection (TCP RST).
	ActionReset Action = "reset"
	// ActionMalformed serves a broken credential document; Body says how.
	ActionMalformed Action = "malformed"
	// ActionExpired serves the credential document with an Expiration in
	// the past.
	ActionExpired Action = "expired"
	// ActionExpiring serves the credential document with an Expiration
	// ExpiresIn from now.
	ActionExpiring Action = "expiring"
)

// Actions lists every action, in documentation order.
func Actions() []Action {
	return []Action{ActionLatency, ActionStatus, ActionRefuse, ActionBlackhole, ActionReset,
		ActionMalformed, ActionExpired, ActionExpiring}
}

// Kinds of malformed credential document (Rule.Body).
const (
	BodyTruncated   = "truncated"    // the first half of the document
	BodyWrongTypes  = "wrong-types"  // Expiration and AccessKeyId as numbers
	BodyMissingCode = "missing-code" // no "Code" key
	BodyNotJSON     = "not-json"     // an HTML page with status 200
)

// Bodies lists the kinds of malformed document.
func Bodies() []string {
	return []string{BodyTruncated, BodyWrongTypes, BodyMissingCode, BodyNotJSON}
}

// Values of Rule.Version.
const (
	VersionV1 = "v1" // a metadata request without a token header
	VersionV2 = "v2" // a request with a token header, or the token PUT itself
)

// Limits on rule parameters.
const (
	MaxDelay   = time.Hour
	maxNameLen = 64
)

// Credential document paths. Actions that rewrite a credential document
// apply only below these prefixes, and only to a named role (not the
// listing).
var credentialPrefixes = []string{
	"/latest/meta-data/iam/security-credentials/",
	"/latest/meta-data/iam/security-credentials-extended/",
	"/latest/meta-data/identity-credentials/ec2/security-credentials/",
}

// CredentialsPath is the default Path of the actions that rewrite credential
// documents.
const CredentialsPath = "/latest/meta-data/iam/security-credentials/"

var nameRe = pattern.Lazy(`^[A-Za-z0-9._-]{1,64}$`)

// Rule is one fault: which requests it matches, what it does, how often and
// for how long. The zero value of every matcher matches everything. The
// JSON and YAML field names are the ones in docs/faults.md.
type Rule struct {
	// ID is assigned by Injector.Add; it is ignored on input.
	ID string `json:"id,omitempty"`
	// Name is an optional label of the user's, shown in listings and events.
	Name   string `json:"name,omitempty"`
	Action Action `json:"action"`

	// Path matches requests whose path starts with it.
	Path string `json:"path,omitempty"`
	// Method matches the request method (case-insensitive).
	Method string `json:"method,omitempty"`
	// Version is VersionV1 or VersionV2.
	Version string `json:"version,omitempty"`
	// Client is an IP address or a CIDR prefix the client's address must be in.
	Client string `json:"client,omitempty"`

	// Status is the code ActionStatus answers with, 100–599.
	Status int `json:"status,omitempty"`
	// Delay is how long ActionLatency waits.
	Delay Duration `json:"delay,omitempty"`
	// Body is the kind of broken document ActionMalformed serves; default
	// BodyTruncated.
	Body string `json:"body,omitempty"`
	// ExpiresIn is how far in the future ActionExpiring puts Expiration.
	ExpiresIn Duration `json:"expires-in,omitempty"`

	// Probability that a matching request is affected, in (0, 1]; nil
	// means always.
	Probability *float64 `json:"probability,omitempty"`
	// First limits the rule to the first N matching requests; it then ends.
	First int `json:"first,omitempty"`
	// Every affects only every Nth matching request (the Nth, 2Nth, …).
	Every int `json:"every,omitempty"`
	// Times ends the rule after it has affected N requests.
	Times int `json:"times,omitempty"`
	// For ends the rule this long after it was added.
	For Duration `json:"for,omitempty"`
}

// FieldError is one problem with one field of a rule. Field is the JSON/YAML
// field name.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Normalize returns r with the method upper-cased and the defaults applied
// (Body for malformed documents, Path for credential rewrites).
func (r Rule) Normalize() Rule {
	r.Method = strings.ToUpper(r.Method)
	if r.Action == ActionMalformed && r.Body == "" {
		r.Body = BodyTruncated
	}
	if r.rewrites() && r.Path == "" {
		r.Path = CredentialsPath
	}
	return r
}

func (r Rule) rewrites() bool {
	return r.Action == ActionMalformed || r.Action == ActionExpired || r.Action == ActionExpiring
}

// Validate reports every problem with r (after Normalize) as *FieldError
// values joined with errors.Join, or nil.
func (r Rule) Validate() error {
	r = r.Normalize()
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	known := false
	for _, a := range Actions() {
		known = known || r.Action == a
	}
	switch {
	case r.Action == "":
		bad("action", "is required: one of %s", actionList())
	case !known:
		bad("action", "unknown action %q: want one of %s", string(r.Action), actionList())
	}
	if r.Name != "" && !nameRe.MatchString(r.Name) {
		bad("name", "must be 1 to %d letters, digits, '.', '_' or '-', got %q", maxNameLen, r.Name)
	}

	// Matchers.
	if r.Path != "" && !strings.HasPrefix(r.Path, "/") {
		bad("path", "must start with \"/\", got %q", r.Path)
	}
	if r.Method != "" && !validMethod(r.Method) {
		bad("method", "must be an HTTP method such as GET or PUT, got %q", r.Method)
	}
	if r.Version != "" && r.Version != VersionV1 && r.Version != VersionV2 {
		bad("version", "must be %q (no token) or %q (token), got %q", VersionV1, VersionV2, r.Version)
	}
	if r.Client != "" {
		if _, err := parseClient(r.Client); err != nil {
			bad("client", "must be an IP address or a CIDR prefix such as 10.0.0.0/8, got %q", r.Client)
		}
	}

	// Parameters belong to one action each.
	param := func(field string, set bool, owner Action) {
		if set && known && r.Action != owner {
			bad(field, "applies only to action %q", owner)
		}
	}
	param("status", r.Status != 0, ActionStatus)
	param("delay", r.Delay != 0, ActionLatency)
	param("body", r.Body != "", ActionMalformed)
	param("expires-in", r.ExpiresIn != 0, ActionExpiring)
	switch r.Action {
	case ActionStatus:
		if r.Status < 100 || r.Status > 599 {
			bad("status", "must be an HTTP status from 100 to 599, got %d", r.Status)
		}
	case ActionLatency:
		switch {
		case r.Delay < 0:
			bad("delay", "must not be negative, got %s", r.Delay)
		case r.Delay == 0:
			bad("delay", "is required for action latency (e.g. \"2s\")")
		case time.Duration(r.Delay) > MaxDelay:
			bad("delay", "must be at most %s, got %s", MaxDelay, r.Delay)
		}
	case ActionMalformed:
		if !contains(Bodies(), r.Body) {
			bad("body", "unknown kind %q: want one of %s", r.Body, quoteAll(Bodies()))
		}
	case ActionExpiring:
		if r.ExpiresIn <= 0 {
			bad("expires-in", "must be positive for action expiring (e.g. \"30s\"), got %s", r.ExpiresIn)
		}
	}
	if r.rewrites() && r.Path != "" && !underCredentials(r.Path) {
		bad("path", "action %q rewrites credential documents, so the path must be under %s, got %q",
			r.Action, CredentialsPath, r.Path)
	}

	// How often and how long.
	if p := r.Probability; p != nil && (math.IsNaN(*p) || *p <= 0 || *p > 1) {
		bad("probability", "must be greater than 0 and at most 1 (leave it out to affect every match), got %v", *p)
	}
	for _, n := range []struct {
		field string
		v     int
	}{{"first", r.First}, {"every", r.Every}, {"times", r.Times}} {
		if n.v < 0 {
			bad(n.field, "must not be negative, got %d", n.v)
		}
	}
	if r.First > 0 && r.Every > r.First {
		bad("every", "is %d, but the rule only looks at the first %d requests, so it would never fire", r.Every, r.First)
	}
	if r.For < 0 {
		bad("for", "must not be negative, got %s", r.For)
	}

	if r.Action == ActionRefuse {
		for _, f := range []struct {
			field string
			set   bool
		}{
			{"path", r.Path != ""}, {"method", r.Method != ""}, {"version", r.Version != ""},
			{"probability", r.Probability != nil}, {"first", r.First != 0}, {"every", r.Every != 0}, {"times", r.Times != 0},
		} {
			if f.set {
				bad(f.field, "does not apply to action refuse, which acts on connections before any request is read (use client and for)")
			}
		}
	}
	return errors.Join(errs...)
}

func actionList() string {
	names := make([]string, 0, len(Actions()))
	for _, a := range Actions() {
		names = append(names, string(a))
	}
	return quoteAll(names)
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func validMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE":
		return true
	}
	return false
}

func underCredentials(p string) bool {
	for _, pre := range credentialPrefixes {
		if strings.HasPrefix(p, pre) || p == strings.TrimSuffix(pre, "/") {
			return true
		}
	}
	return false
}

// credentialDocument reports whether path names one credential document
// (a role under a credential prefix, not the listing).
func credentialDocument(path string) bool {
	for _, pre := range credentialPrefixes {
		if rest, ok := strings.CutPrefix(path, pre); ok && strings.Trim(rest, "/") != "" && !strings.Contains(strings.Trim(rest, "/"), "/") {
			return true
		}
	}
	return false
}

// parseClient parses an address or a prefix into a prefix.
func parseClient(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Duration is a time.Duration written as a Go duration string ("2s",
// "1m30s") in JSON; on input it also accepts a number of seconds.
type Duration time.Duration

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a string such as "1.5s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("must be a duration such as \"2s\" or a number of seconds, got %s", b)
	}
	if math.IsNaN(secs) || math.Abs(secs) > float64(math.MaxInt64)/float64(time.Second) {
		return fmt.Errorf("duration %s seconds is out of range", b)
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// ParseDuration accepts a Go duration ("2s", "1m30s") or whole seconds ("30").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return 0, fmt.Errorf("%s seconds is out of range", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("must be a duration such as \"2s\" or \"1m30s\", or whole seconds, got %q", s)
	}
	return v, nil
}
