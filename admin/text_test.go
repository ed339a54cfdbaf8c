package admin

import (
	"strings"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/fault"
)

func TestText(t *testing.T) {
	half := 0.5
	ends := time.Date(2030, 1, 2, 3, 5, 0, 0, time.Local)
	st := fault.Status{Rule: fault.Rule{ID: "4", Action: fault.ActionLatency, Delay: fault.Duration(2 * time.Second),
		Probability: &half, First: 2, Every: 3, Times: 4}, Scenario: "flaky", Ends: &ends, Matched: 5, Fired: 2}
	if got, want := FaultLimits(st), "probability 0.5, first 2, every 3, times 4, until 03:05:00, scenario flaky"; got != want {
		t.Errorf("FaultLimits = %q, want %q", got, want)
	}
	if got := FaultLimits(fault.Status{Rule: fault.Rule{Action: fault.ActionRefuse, Every: 1}}); got != "" {
		t.Errorf("FaultLimits of an unlimited rule = %q", got)
	}
	exp := testNow.Add(6 * time.Hour)
	gen := GenerationInfo{Profile: instanceARN, Seq: 3, AccessKeyID: "ASIAEXAMPLE", Status: StatusCurrent, Issued: testNow, Expires: &exp, Served: 7,
		Clients:        []ClientInfo{{Address: "10.0.0.1", Versions: map[string]uint64{"v2": 5, "v1": 2}}, {Address: "10.0.0.2", Versions: map[string]uint64{"ecs": 1}}},
		ClientsOmitted: 30}
	for name, tc := range map[string]struct {
		write func(*strings.Builder) error
		want  []string
	}{
		"faults":    {func(b *strings.Builder) error { return WriteFaults(b, []fault.Status{st}) }, []string{"ID  RULE", "4   latency 2s", "scenario flaky  5        2"}},
		"no faults": {func(b *strings.Builder) error { return WriteFaults(b, nil) }, []string{"no active fault rules"}},
		"scenarios": {func(b *strings.Builder) error {
			return WriteScenarios(b, []fault.ScenarioStatus{{Scenario: fault.Scenario{Name: "flaky", Steps: make([]fault.Step, 2)}, Running: true, StepsDone: 1}})
		}, []string{"flaky  2      true     1"}},
		"no scenarios": {func(b *strings.Builder) error { return WriteScenarios(b, nil) }, []string{"no scenarios defined"}},
		"options": {func(b *strings.Builder) error {
			return WriteOptions(b, MetadataOptions{HTTPTokens: "required", HTTPEndpoint: "enabled", HopLimit: 2, Throttle: Throttle{RPS: 2.5, Burst: 3}})
		}, []string{"http-tokens:            required\n", "hop-limit:              2\n", "throttle:               2.5/s, burst 3\n"}},
		"generations": {func(b *strings.Builder) error { return WriteGenerations(b, []GenerationInfo{gen}) },
			[]string{"PROFILE  SEQ", "web      3    ASIAEXAMPLE    current", "10.0.0.1 (v1 2, v2 5), 10.0.0.2 (ecs 1) and 30 more"}},
	} {
		var b strings.Builder
		if err := tc.write(&b); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s:\n%s\nwant it to contain %q", name, b.String(), w)
			}
		}
	}
}
