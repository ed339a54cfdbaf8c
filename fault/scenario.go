package fault

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Scenario is a named timeline of rules: each step adds its rule At after
// the scenario starts (its For then counts from that moment), posts an
// instance notice, or, with Clear, ends the rules the scenario added so
// far.
type Scenario struct {
	Name  string `json:"name"`
	Steps []Step `json:"steps"`
}

// Step is one point of a scenario's timeline. Exactly one of Fault,
// Notice and Clear is set.
type Step struct {
	At     Duration `json:"at"`
	Fault  *Rule    `json:"fault,omitempty"`
	Notice *Notice  `json:"notice,omitempty"`
	Clear  bool     `json:"clear,omitempty"`
}

// ScenarioStatus is a scenario as listed.
type ScenarioStatus struct {
	Scenario
	// Running is true from the start until the last step has run and the
	// rules it added have all ended, or until it is stopped.
	Running   bool       `json:"running"`
	Started   *time.Time `json:"started,omitempty"`
	StepsDone int        `json:"steps_done"`
}

// Validate reports every problem with s as *FieldError values (Field like
// "steps[2].fault.status") joined with errors.Join.
func (s Scenario) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if !nameRe.MatchString(s.Name) {
		bad("name", "must be 1 to %d letters, digits, '.', '_' or '-', got %q", maxNameLen, s.Name)
	}
	if len(s.Steps) == 0 {
		bad("steps", "a scenario needs at least one step")
	}
	for i, st := range s.Steps {
		p := fmt.Sprintf("steps[%d]", i)
		if st.At < 0 {
			bad(p+".at", "must not be negative, got %s", st.At)
		}
		set := 0
		for _, ok := range []bool{st.Fault != nil, st.Notice != nil, st.Clear} {
			if ok {
				set++
			}
		}
		switch {
		case set > 1:
			bad(p, "give one of fault, notice and clear")
		case set == 0:
			bad(p, "needs a fault (a rule to add), a notice (to post) or clear: true")
		case st.Notice != nil:
			if err := st.Notice.Request().Validate(); err != nil {
				bad(p+".notice", "%s", strings.TrimPrefix(err.Error(), "imds: "))
			}
		case st.Fault != nil:
			var fe *FieldError
			for _, e := range unjoin(st.Fault.Validate()) {
				if errors.As(e, &fe) {
					bad(p+".fault."+fe.Field, "%s", fe.Msg)
				}
			}
		}
	}
	return errors.Join(errs...)
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// scenarioRun is one run of a scenario. Its fields are guarded by
// Injector.mu.
type scenarioRun struct {
	sc      Scenario // steps sorted by At
	started time.Time
	timers  []*time.Timer
	done    int
	stopped bool
}

func (run *scenarioRun) stop() {
	run.stopped = true
	for _, t := range run.timers {
		t.Stop()
	}
}

// DefineScenario validates s and adds it, or replaces the definition of the
// same name (a running copy keeps its old timeline).
func (in *Injector) DefineScenario(s Scenario) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s.Steps = slices.Clone(s.Steps)
	for i, st := range s.Steps {
		if st.Fault != nil {
			r := st.Fault.Normalize()
			r.ID = ""
			s.Steps[i].Fault = &r
		}
		if st.Notice != nil {
			n := *st.Notice
			s.Steps[i].Notice = &n
		}
	}
	sort.SliceStable(s.Steps, func(i, j int) bool { return s.Steps[i].At < s.Steps[j].At })
	in.mu.Lock()
	defer in.mu.Unlock()
	in.scenarios[s.Name] = s
	return nil
}

// Scenarios lists the defined scenarios by name.
func (in *Injector) Scenarios() []ScenarioStatus {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]ScenarioStatus, 0, len(in.scenarios))
	for _, s := range in.scenarios {
		out = append(out, in.scenarioStatusLocked(s))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Scenario returns one scenario's status.
func (in *Injector) Scenario(name string) (ScenarioStatus, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	s, ok := in.scenarios[name]
	if !ok {
		return ScenarioStatus{}, ErrUnknownScenario
	}
	return in.scenarioStatusLocked(s), nil
}

func (in *Injector) scenarioStatusLocked(s Scenario) ScenarioStatus {
	st := ScenarioStatus{Scenario: s}
	run := in.running[s.Name]
	if run == nil {
		return st
	}
	started := run.started
	st.Started = &started
	st.StepsDone = run.done
	st.Running = run.done < len(run.sc.Steps)
	for _, r := range in.list() {
		st.Running = st.Running || r.scenario == s.Name
	}
	return st
}

// StartScenario starts the named scenario's timeline now. Starting a
// running scenario starts it again from the beginning, ending the rules its
// previous run added.
func (in *Injector) StartScenario(name string) (ScenarioStatus, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return ScenarioStatus{}, ErrClosed
	}
	s, ok := in.scenarios[name]
	if !ok {
		return ScenarioStatus{}, ErrUnknownScenario
	}
	if in.notices == nil && slices.ContainsFunc(s.Steps, func(st Step) bool { return st.Notice != nil }) {
		return ScenarioStatus{}, ErrNoNotifier
	}
	in.stopScenarioLocked(name)
	run := &scenarioRun{sc: s, started: in.now()}
	in.running[name] = run
	for i := range s.Steps {
		st := s.Steps[i]
		if st.At <= 0 {
			in.stepLocked(run, st)
			continue
		}
		run.timers = append(run.timers, time.AfterFunc(time.Duration(st.At), func() {
			in.mu.Lock()
			defer in.mu.Unlock()
			in.stepLocked(run, st)
		}))
	}
	in.log.Info("fault scenario started", "scenario", name)
	return in.scenarioStatusLocked(s), nil
}

// stepLocked runs one step of run unless the run has been stopped.
func (in *Injector) stepLocked(run *scenarioRun, st Step) {
	if run.stopped || in.closed {
		return
	}
	run.done++
	if st.Clear {
		in.retireScenarioLocked(run.sc.Name, "scenario step clear")
		return
	}
	if st.Notice != nil {
		if _, err := in.notices.Fire(st.Notice.Request()); err != nil {
			in.log.Warn("fault scenario notice failed", "scenario", run.sc.Name, "err", err)
		} else {
			in.log.Info("fault scenario posted a notice", "scenario", run.sc.Name, "kind", st.Notice.Kind)
		}
		return
	}
	if _, err := in.addLocked(*st.Fault, run.sc.Name); err != nil {
		in.log.Warn("fault scenario step failed", "scenario", run.sc.Name, "err", err)
	}
}

// StopScenario stops the named scenario and ends the rules it added.
func (in *Injector) StopScenario(name string) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	s, ok := in.scenarios[name]
	if !ok {
		return ErrUnknownScenario
	}
	if !in.scenarioStatusLocked(s).Running {
		return ErrNotRunning
	}
	in.stopScenarioLocked(name)
	in.log.Info("fault scenario stopped", "scenario", name)
	return nil
}

func (in *Injector) stopScenarioLocked(name string) {
	if run := in.running[name]; run != nil {
		run.stop()
		delete(in.running, name)
	}
	in.retireScenarioLocked(name, "scenario stopped")
}

func (in *Injector) retireScenarioLocked(name, reason string) {
	for _, r := range in.list() {
		if r.scenario == name {
			in.retireLocked(r, reason)
		}
	}
}
