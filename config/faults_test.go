package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/fault"
)

func TestParse_Scenarios(t *testing.T) {
	data := []byte(`
start-scenario: flaky-start
scenarios:
  flaky-start:
    - at: 0s
      fault: {action: status, status: 500, path: /latest/api/token, method: put, times: 3}
    - at: 30s
      fault: {action: latency, delay: 2s, for: 20s, probability: 0.5, client: 10.0.0.0/8}
    - at: 60
      clear: true
  expiring:
    - fault: {action: expiring, expires-in: 90s, version: v1, every: 2, first: 10, name: soon}
`)
	f, err := config.Parse("ok.yaml", data)
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	half := 0.5
	want := []fault.Scenario{
		{Name: "flaky-start", Steps: []fault.Step{
			{At: 0, Fault: &fault.Rule{Action: fault.ActionStatus, Status: 500, Path: "/latest/api/token", Method: "put", Times: 3}},
			{At: fault.Duration(30 * time.Second), Fault: &fault.Rule{Action: fault.ActionLatency, Delay: fault.Duration(2 * time.Second),
				For: fault.Duration(20 * time.Second), Probability: &half, Client: "10.0.0.0/8"}},
			{At: fault.Duration(time.Minute), Clear: true},
		}},
		{Name: "expiring", Steps: []fault.Step{
			{Fault: &fault.Rule{Action: fault.ActionExpiring, ExpiresIn: fault.Duration(90 * time.Second), Version: "v1", Every: 2, First: 10, Name: "soon"}},
		}},
	}
	if diff := cmp.Diff(want, f.Settings.Scenarios); diff != "" {
		t.Errorf("Scenarios (-want +got)\n%s", diff)
	}
	if f.Settings.StartScenario != "flaky-start" {
		t.Errorf("StartScenario = %q", f.Settings.StartScenario)
	}
	// The scenarios load into an Injector as they are.
	if _, err := fault.New(fault.Options{Scenarios: f.Settings.Scenarios}); err != nil {
		t.Errorf("fault.New(scenarios) = %v", err)
	}
}

func TestParse_ScenarioErrors(t *testing.T) {
	cases := []struct {
		name, data, want string
	}{
		{"status out of range", "scenarios:\n  s:\n    - fault: {action: status, status: 700}\n",
			`bad.yaml:3:39: scenarios.s[0].fault.status: must be an HTTP status from 100 to 599, got 700`},
		{"unknown action", "scenarios:\n  s:\n    - fault:\n        action: explode\n",
			`bad.yaml:4:17: scenarios.s[0].fault.action: unknown action "explode"`},
		{"unknown rule key", "scenarios:\n  s:\n    - fault: {action: reset, tiems: 3}\n",
			`bad.yaml:3:30: scenarios.s[0].fault.tiems: unknown field "tiems" (did you mean "times"?)`},
		{"unknown step key", "scenarios:\n  s:\n    - after: 3s\n      clear: true\n",
			`bad.yaml:3:7: scenarios.s[0].after: unknown field "after"`},
		{"negative delay", "scenarios:\n  s:\n    - fault: {action: latency, delay: -2s}\n",
			`bad.yaml:3:39: scenarios.s[0].fault.delay: must not be negative, got -2s`},
		{"probability", "scenarios:\n  s:\n    - fault: {action: reset, probability: 1.5}\n",
			`bad.yaml:3:43: scenarios.s[0].fault.probability: must be greater than 0 and at most 1`},
		{"bad cidr", "scenarios:\n  s:\n    - fault: {action: reset, client: 10.0.0.0/33}\n",
			`bad.yaml:3:38: scenarios.s[0].fault.client: must be an IP address or a CIDR prefix`},
		{"spot notice, on-demand instance", "scenarios:\n  s:\n    - at: 2m\n      notice: {kind: spot-interruption}\n",
			`bad.yaml:4:15: scenarios.s[0].notice: a spot-interruption notice needs a Spot instance: set instance.life-cycle: spot`},
		{"bad notice", "scenarios:\n  s:\n    - notice: {kind: maintenance, code: reboot}\n",
			`bad.yaml:3:15: scenarios.s[0].notice: maintenance notice: code must be one of`},
		{"empty step", "scenarios:\n  s:\n    - at: 1s\n",
			`bad.yaml:3:7: scenarios.s[0]: needs a fault (a rule to add), a notice (to post) or clear: true`},
		{"not a list", "scenarios:\n  s: {at: 1s}\n",
			`bad.yaml:2:6: scenarios.s: must be a list, got a mapping`},
		{"bad name", "scenarios:\n  has space:\n    - clear: true\n",
			`bad.yaml:2:3: scenarios.has space: must be 1 to 64 letters`},
		{"unknown start", "start-scenario: nope\nscenarios:\n  s:\n    - clear: true\n",
			`bad.yaml:1:17: start-scenario: "nope" is not a scenario under scenarios (defined: s)`},
		{"start without scenarios", "start-scenario: nope\n",
			`bad.yaml:1:17: start-scenario: "nope" is not a scenario under scenarios (none are)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("bad.yaml", []byte(tc.data))
			var e *config.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse() = %v, want a *config.Error", err)
			}
			if !strings.HasPrefix(e.Error(), tc.want) {
				t.Errorf("Parse() first error\n got %s\nwant %s", e.Error(), tc.want)
			}
		})
	}
}

func TestApplyEnv_StartScenario(t *testing.T) {
	s := config.Default().Settings
	s.Scenarios = []fault.Scenario{{Name: "x", Steps: []fault.Step{{Clear: true}}}}
	env := map[string]string{config.EnvStartScenario: "x"}
	if err := config.ApplyEnv(&s, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if s.StartScenario != "x" {
		t.Errorf("StartScenario = %q, want x", s.StartScenario)
	}
	s.StartScenario = "y"
	s.MetadataAddr, s.AdminAddr = "127.0.0.1:1", "127.0.0.1:2"
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), `start-scenario: "y" is not a scenario`) {
		t.Errorf("Validate() = %v, want the start-scenario error", err)
	}
}
