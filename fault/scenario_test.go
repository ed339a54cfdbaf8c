package fault

import (
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

func flakyStart() Scenario {
	return Scenario{Name: "flaky-start", Steps: []Step{
		{At: Duration(30 * time.Second), Fault: &Rule{Action: ActionLatency, Delay: Duration(2 * time.Second), For: Duration(20 * time.Second)}},
		{At: 0, Fault: &Rule{Action: ActionStatus, Status: 500, Path: "/latest/api/token", Times: 3}},
		{At: Duration(40 * time.Second), Clear: true},
	}}
}

func TestScenario_Timeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, err := New(Options{Scenarios: []Scenario{flakyStart()}})
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		if _, err := in.StartScenario("flaky-start"); err != nil {
			t.Fatal(err)
		}
		actions := func() []Action {
			var out []Action
			for _, s := range in.Rules() {
				if s.Scenario != "flaky-start" {
					t.Errorf("rule %s has scenario %q", s.ID, s.Scenario)
				}
				out = append(out, s.Action)
			}
			return out
		}
		// At 0s: the status rule (steps are sorted by At).
		if got := actions(); len(got) != 1 || got[0] != ActionStatus {
			t.Fatalf("at 0s rules = %v, want [status]", got)
		}
		h := in.Handler(&backend{})
		for i := range 4 {
			code := serve(h, http.MethodPut, "/latest/api/token").Code
			if want := map[bool]int{true: 500, false: 200}[i < 3]; code != want {
				t.Errorf("token PUT %d = %d, want %d", i+1, code, want)
			}
		}
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if got := actions(); len(got) != 1 || got[0] != ActionLatency {
			t.Fatalf("at 30s rules = %v, want [latency]", got)
		}
		st, err := in.Scenario("flaky-start")
		if err != nil || !st.Running || st.StepsDone != 2 {
			t.Errorf("Scenario at 30s = %+v, %v; want running with 2 steps done", st, err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := actions(); len(got) != 0 {
			t.Errorf("at 40s (clear) rules = %v, want none", got)
		}
		st, _ = in.Scenario("flaky-start")
		if st.Running || st.StepsDone != 3 {
			t.Errorf("Scenario after the last step = %+v, want finished", st)
		}
		if err := in.StopScenario("flaky-start"); !errors.Is(err, ErrNotRunning) {
			t.Errorf("StopScenario(finished) = %v, want ErrNotRunning", err)
		}
	})
}

func TestScenario_StopEndsRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, err := New(Options{Scenarios: []Scenario{flakyStart()}})
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		manual := mustAdd(t, in, Rule{Action: ActionReset, Path: "/other"})
		if _, err := in.StartScenario("flaky-start"); err != nil {
			t.Fatal(err)
		}
		if err := in.StopScenario("flaky-start"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		rules := in.Rules()
		if len(rules) != 1 || rules[0].ID != manual.ID {
			t.Errorf("rules after stop = %+v, want only the manual rule", rules)
		}
	})
}

func TestScenario_Errors(t *testing.T) {
	in := newInjector(t, Options{})
	if _, err := in.StartScenario("nope"); !errors.Is(err, ErrUnknownScenario) {
		t.Errorf("StartScenario(unknown) = %v", err)
	}
	if err := in.StopScenario("nope"); !errors.Is(err, ErrUnknownScenario) {
		t.Errorf("StopScenario(unknown) = %v", err)
	}
	if err := in.DefineScenario(Scenario{Name: "bad"}); err == nil {
		t.Errorf("DefineScenario(no steps) = nil")
	}
	if len(in.Scenarios()) != 0 {
		t.Errorf("a bad scenario was defined")
	}
	if _, err := New(Options{Scenarios: []Scenario{{Name: "x", Steps: []Step{{}}}}}); err == nil {
		t.Errorf("New with a bad scenario = nil error")
	}
}
