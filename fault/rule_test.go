package fault

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func prob(p float64) *float64 { return &p }

func TestRule_Validate(t *testing.T) {
	valid := map[string]Rule{
		"status 403 on token PUT":  {Action: ActionStatus, Status: 403, Path: "/latest/api/token", Method: "put"},
		"latency with times":       {Action: ActionLatency, Delay: Duration(2 * time.Second), Times: 3},
		"refuse for a while":       {Action: ActionRefuse, For: Duration(time.Minute)},
		"refuse one client":        {Action: ActionRefuse, Client: "10.0.0.0/8"},
		"blackhole v1 from a host": {Action: ActionBlackhole, Version: "v1", Client: "::1"},
		"reset every other":        {Action: ActionReset, Every: 2, First: 10},
		"malformed default body":   {Action: ActionMalformed},
		"malformed missing code":   {Action: ActionMalformed, Body: BodyMissingCode, Probability: prob(0.5)},
		"expired on a role":        {Action: ActionExpired, Path: "/latest/meta-data/iam/security-credentials/r"},
		"expiring":                 {Action: ActionExpiring, ExpiresIn: Duration(30 * time.Second), Name: "soon-1"},
		"probability one":          {Action: ActionStatus, Status: 500, Probability: prob(1)},
	}
	for name, r := range valid {
		t.Run(name, func(t *testing.T) {
			if err := r.Validate(); err != nil {
				t.Errorf("Validate(%+v) = %v, want nil", r, err)
			}
		})
	}

	invalid := []struct {
		name  string
		rule  Rule
		field string
		msg   string
	}{
		{"no action", Rule{}, "action", "is required"},
		{"unknown action", Rule{Action: "explode"}, "action", `unknown action "explode"`},
		{"status too low", Rule{Action: ActionStatus, Status: 99}, "status", "from 100 to 599"},
		{"status too high", Rule{Action: ActionStatus, Status: 600}, "status", "from 100 to 599"},
		{"status missing", Rule{Action: ActionStatus}, "status", "from 100 to 599"},
		{"status on latency", Rule{Action: ActionLatency, Delay: Duration(time.Second), Status: 500}, "status", `applies only to action "status"`},
		{"negative delay", Rule{Action: ActionLatency, Delay: Duration(-time.Second)}, "delay", "must not be negative"},
		{"no delay", Rule{Action: ActionLatency}, "delay", "is required"},
		{"huge delay", Rule{Action: ActionLatency, Delay: Duration(2 * time.Hour)}, "delay", "at most 1h0m0s"},
		{"probability zero", Rule{Action: ActionReset, Probability: prob(0)}, "probability", "greater than 0"},
		{"probability above one", Rule{Action: ActionReset, Probability: prob(1.5)}, "probability", "at most 1"},
		{"negative probability", Rule{Action: ActionReset, Probability: prob(-0.1)}, "probability", "greater than 0"},
		{"negative times", Rule{Action: ActionReset, Times: -1}, "times", "must not be negative"},
		{"negative every", Rule{Action: ActionReset, Every: -2}, "every", "must not be negative"},
		{"negative first", Rule{Action: ActionReset, First: -2}, "first", "must not be negative"},
		{"every beyond first", Rule{Action: ActionReset, First: 2, Every: 3}, "every", "never fire"},
		{"negative for", Rule{Action: ActionReset, For: Duration(-time.Second)}, "for", "must not be negative"},
		{"bad cidr", Rule{Action: ActionReset, Client: "10.0.0.0/33"}, "client", "CIDR"},
		{"bad ip", Rule{Action: ActionReset, Client: "host.example"}, "client", "IP address"},
		{"bad version", Rule{Action: ActionReset, Version: "v3"}, "version", `"v1"`},
		{"bad method", Rule{Action: ActionReset, Method: "FETCH"}, "method", "HTTP method"},
		{"relative path", Rule{Action: ActionReset, Path: "latest"}, "path", `start with "/"`},
		{"bad body", Rule{Action: ActionMalformed, Body: "gibberish"}, "body", "unknown kind"},
		{"body on status", Rule{Action: ActionStatus, Status: 500, Body: BodyTruncated}, "body", "applies only"},
		{"expiring without time", Rule{Action: ActionExpiring}, "expires-in", "must be positive"},
		{"expired off the credential path", Rule{Action: ActionExpired, Path: "/latest/meta-data/ami-id"}, "path", "rewrites credential documents"},
		{"refuse with path", Rule{Action: ActionRefuse, Path: "/latest/api/token"}, "path", "does not apply to action refuse"},
		{"refuse with times", Rule{Action: ActionRefuse, Times: 2}, "times", "does not apply to action refuse"},
		{"bad name", Rule{Action: ActionReset, Name: "has space"}, "name", "letters, digits"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.rule.Validate()
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want an error on %s", tc.rule, tc.field)
			}
			var fe *FieldError
			found := false
			for _, e := range unjoin(err) {
				if errors.As(e, &fe) && fe.Field == tc.field && strings.Contains(fe.Msg, tc.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("Validate(%+v) = %q, want a %s error containing %q", tc.rule, err, tc.field, tc.msg)
			}
		})
	}
}

func TestRule_Normalize(t *testing.T) {
	r := Rule{Action: ActionMalformed, Method: "get"}.Normalize()
	if r.Method != "GET" || r.Body != BodyTruncated || r.Path != CredentialsPath {
		t.Errorf("Normalize = %+v, want method GET, body truncated, path %s", r, CredentialsPath)
	}
}

func TestDuration_JSON(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{`"2s"`, 2 * time.Second, false},
		{`"1m30s"`, 90 * time.Second, false},
		{`"30"`, 30 * time.Second, false},
		{`1.5`, 1500 * time.Millisecond, false},
		{`"soon"`, 0, true},
		{`true`, 0, true},
		{`1e300`, 0, true},
	}
	for _, tc := range cases {
		var d Duration
		err := json.Unmarshal([]byte(tc.in), &d)
		if (err != nil) != tc.err || (!tc.err && time.Duration(d) != tc.want) {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v, error %v", tc.in, time.Duration(d), err, tc.want, tc.err)
		}
	}
	b, err := json.Marshal(Rule{Action: ActionLatency, Delay: Duration(1500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"action":"latency","delay":"1.5s"}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
}

func TestScenario_Validate(t *testing.T) {
	ok := Scenario{Name: "flaky-start", Steps: []Step{
		{At: 0, Fault: &Rule{Action: ActionStatus, Status: 500, Path: "/latest/api/token", Times: 3}},
		{At: Duration(30 * time.Second), Fault: &Rule{Action: ActionLatency, Delay: Duration(2 * time.Second), For: Duration(20 * time.Second)}},
		{At: Duration(time.Minute), Clear: true},
	}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate(flaky-start) = %v", err)
	}
	bad := []struct {
		name  string
		sc    Scenario
		field string
	}{
		{"no name", Scenario{Steps: ok.Steps}, "name"},
		{"no steps", Scenario{Name: "x"}, "steps"},
		{"negative at", Scenario{Name: "x", Steps: []Step{{At: -1, Clear: true}}}, "steps[0].at"},
		{"empty step", Scenario{Name: "x", Steps: []Step{{}}}, "steps[0]"},
		{"both", Scenario{Name: "x", Steps: []Step{{Clear: true, Fault: &Rule{Action: ActionReset}}}}, "steps[0]"},
		{"bad rule", Scenario{Name: "x", Steps: []Step{{Fault: &Rule{Action: ActionStatus, Status: 700}}}}, "steps[0].fault.status"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.sc.Validate()
			var fe *FieldError
			found := false
			for _, e := range unjoin(err) {
				if errors.As(e, &fe) && fe.Field == tc.field {
					found = true
				}
			}
			if !found {
				t.Errorf("Validate = %v, want an error on %s", err, tc.field)
			}
		})
	}
}
