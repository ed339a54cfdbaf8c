package lab

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Expectation is what a lane must have seen by the end of a run. Counts
// are written "0", ">0", ">=2", "<3", "==1"; an empty field checks nothing.
type Expectation struct {
	Calls          Count `yaml:"calls"`
	RetrieveErrors Count `yaml:"retrieve_errors"`
	FailedChecks   Count `yaml:"failed_checks"`
	BlockedCalls   Count `yaml:"blocked_calls"`
	StaleCalls     Count `yaml:"stale_calls"`
	IMDSRequests   Count `yaml:"imds_requests"`
	Keys           Count `yaml:"keys"` // distinct access key ids
	// IMDS counts requests by kind: "PUT token", "GET v1", "GET v2",
	// with a status or " failed" when not a 200 ("PUT token 403").
	IMDS      map[string]Count `yaml:"imds"`
	Codes     []string         `yaml:"codes"`    // check outcomes that must appear, such as AccessDenied
	NoCodes   []string         `yaml:"no_codes"` // check outcomes that must not appear
	LastCheck string           `yaml:"last_check"`
	Why       string           `yaml:"why"` // the reason, printed with a failure
}

// Count is a comparison with an integer: "3", ">0", ">=2", "<=1", "<4".
type Count string

func (c Count) parse() (op string, n int, err error) {
	s := strings.TrimSpace(string(c))
	for _, o := range []string{">=", "<=", "==", ">", "<"} {
		if rest, ok := strings.CutPrefix(s, o); ok {
			op, s = o, rest
			break
		}
	}
	if op == "" {
		op = "=="
	}
	n, err = strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return "", 0, fmt.Errorf("count %q: want a number with an optional >, >=, <, <= or ==", string(c))
	}
	return op, n, nil
}

// holds reports whether v satisfies c; an empty c always holds.
func (c Count) holds(v int) bool {
	if c == "" {
		return true
	}
	op, n, _ := c.parse()
	switch op {
	case ">":
		return v > n
	case ">=":
		return v >= n
	case "<":
		return v < n
	case "<=":
		return v <= n
	}
	return v == n
}

func (e Expectation) validate() error {
	counts := []Count{e.Calls, e.RetrieveErrors, e.FailedChecks, e.BlockedCalls, e.StaleCalls, e.IMDSRequests, e.Keys}
	for _, c := range e.IMDS {
		counts = append(counts, c)
	}
	for _, c := range counts {
		if c == "" {
			continue
		}
		if _, _, err := c.parse(); err != nil {
			return err
		}
	}
	return nil
}

// Failure is an expectation a lane did not meet.
type Failure struct {
	Lane, Selector, What, Why string
}

func (f Failure) Error() string {
	s := fmt.Sprintf("lane %s (expect %s): %s", f.Lane, f.Selector, f.What)
	if f.Why != "" {
		s += " (" + f.Why + ")"
	}
	return s
}

// check returns what of e the summary does not meet.
func (e Expectation) check(s Summary) []string {
	var out []string
	count := func(name string, c Count, v int) {
		if !c.holds(v) {
			out = append(out, fmt.Sprintf("%s = %d, want %s", name, v, c))
		}
	}
	count("calls", e.Calls, s.Calls)
	count("retrieve_errors", e.RetrieveErrors, s.RetrieveErrors)
	count("failed_checks", e.FailedChecks, s.FailedChecks)
	count("blocked_calls", e.BlockedCalls, s.BlockedCalls)
	count("stale_calls", e.StaleCalls, s.StaleCalls)
	count("imds_requests", e.IMDSRequests, s.IMDSRequests)
	count("keys", e.Keys, len(s.Keys))
	for kind, c := range e.IMDS {
		count("imds "+kind, c, s.IMDS[kind])
	}
	for _, c := range e.Codes {
		if s.Checks[c] == 0 {
			out = append(out, fmt.Sprintf("no check answered %s (checks: %s)", c, ChecksText(s)))
		}
	}
	for _, c := range e.NoCodes {
		if n := s.Checks[c]; n > 0 {
			out = append(out, fmt.Sprintf("%d checks answered %s", n, c))
		}
	}
	if e.LastCheck != "" && s.LastCheck != e.LastCheck {
		out = append(out, fmt.Sprintf("last check %q, want %q", s.LastCheck, e.LastCheck))
	}
	return out
}

// matches reports whether selector sel picks lane (its name, with
// "@VERSION" when it has one) of kind.
func matches(sel, lane string, model bool) bool {
	switch sel {
	case "all":
		return true
	case "models":
		return model
	case "sdks":
		return !model && !strings.HasPrefix(lane, "stolen") && lane != "profile"
	}
	if sel == lane {
		return true
	}
	base, _, _ := strings.Cut(lane, "@")
	if sel == base {
		return true
	}
	ok, _ := path.Match(sel, lane)
	return ok
}

// Evaluate checks every expectation of sc against the summaries; lanes the
// run did not have are not checked.
func Evaluate(sc *Scenario, sums []Summary) []Failure {
	sels := make([]string, 0, len(sc.Expect))
	for sel := range sc.Expect {
		sels = append(sels, sel)
	}
	sort.Strings(sels)
	var out []Failure
	for _, s := range sums {
		for _, sel := range sels {
			if !matches(sel, s.Lane, s.Model) {
				continue
			}
			e := sc.Expect[sel]
			for _, what := range e.check(s) {
				out = append(out, Failure{Lane: s.Lane, Selector: sel, What: what, Why: e.Why})
			}
		}
	}
	return out
}
