package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imdsemu/imdsemu/fault"
)

// This file holds the fault injection settings: named scenarios (timelines
// of fault rules) and the scenario `imdsemu serve` starts with.

// EnvStartScenario names the scenario to start, overriding start-scenario.
const EnvStartScenario = "IMDSEMU_START_SCENARIO"

func scenarioStepKeys() []string { return []string{"at", "fault", "clear"} }

// faultRuleKeys are the keys of a fault rule, as in the control API.
func faultRuleKeys() []string {
	return []string{"name", "action", "path", "method", "version", "client", "status", "delay", "body",
		"expires-in", "probability", "first", "every", "times", "for"}
}

// decodeFaults decodes scenarios and start-scenario.
func (d *decoder) decodeFaults(top *mapping, s *Settings) {
	d.str(top, "start-scenario", &s.StartScenario)
	n, ok := top.vals["scenarios"]
	if !ok {
		return
	}
	m := d.mapping(n, "scenarios", nil)
	if m == nil {
		return
	}
	for _, name := range m.order {
		path := join("scenarios", name)
		before := len(d.errs)
		sc := fault.Scenario{Name: name}
		for i, item := range d.seq(m.vals[name], path) {
			ip := index(path, i)
			sm := d.mapping(item, ip, scenarioStepKeys())
			if sm == nil {
				continue
			}
			var st fault.Step
			var at time.Duration
			d.duration(sm, "at", &at)
			st.At = fault.Duration(at)
			d.boolean(sm, "clear", &st.Clear)
			if fn, ok := sm.vals["fault"]; ok {
				st.Fault = d.faultRule(fn, join(ip, "fault"))
			}
			sc.Steps = append(sc.Steps, st)
		}
		if len(d.errs) > before {
			continue
		}
		for _, e := range unjoin(sc.Validate()) {
			var fe *fault.FieldError
			if !errors.As(e, &fe) {
				continue
			}
			if fe.Field == "name" {
				d.errorAt(d.keys[path], path, fe.Msg)
				continue
			}
			field := path
			if rest, ok := strings.CutPrefix(fe.Field, "steps"); ok {
				field = path + rest
			}
			d.addAt(field, fe.Msg)
		}
		s.Scenarios = append(s.Scenarios, sc)
	}
}

// faultRule decodes one fault rule mapping; Validate checks it later.
func (d *decoder) faultRule(n *yaml.Node, path string) *fault.Rule {
	m := d.mapping(n, path, faultRuleKeys())
	if m == nil {
		return nil
	}
	r := &fault.Rule{}
	var action string
	d.str(m, "name", &r.Name)
	d.str(m, "action", &action)
	r.Action = fault.Action(action)
	d.str(m, "path", &r.Path)
	d.str(m, "method", &r.Method)
	d.str(m, "version", &r.Version)
	d.str(m, "client", &r.Client)
	d.str(m, "body", &r.Body)
	d.integer(m, "status", &r.Status)
	d.integer(m, "first", &r.First)
	d.integer(m, "every", &r.Every)
	d.integer(m, "times", &r.Times)
	for key, dst := range map[string]*fault.Duration{"delay": &r.Delay, "expires-in": &r.ExpiresIn, "for": &r.For} {
		var v time.Duration
		d.duration(m, key, &v)
		*dst = fault.Duration(v)
	}
	if m.has("probability") && !isNull(resolve(m.vals["probability"])) {
		before := len(d.errs)
		var p float64
		d.number(m, "probability", &p)
		if len(d.errs) == before {
			r.Probability = &p
		}
	}
	return r
}

// validateFaults checks that start-scenario names a scenario.
func (s Settings) validateFaults(add func(field, msg string)) {
	if s.StartScenario == "" {
		return
	}
	var names []string
	for _, sc := range s.Scenarios {
		if sc.Name == s.StartScenario {
			return
		}
		names = append(names, sc.Name)
	}
	slices.Sort(names)
	defined := "none are"
	if len(names) > 0 {
		defined = "defined: " + strings.Join(names, ", ")
	}
	add("start-scenario", fmt.Sprintf("%q is not a scenario under scenarios (%s)", s.StartScenario, defined))
}

// applyFaultsEnv applies IMDSEMU_START_SCENARIO.
func applyFaultsEnv(s *Settings, getenv func(string) string) {
	if v := getenv(EnvStartScenario); v != "" {
		s.StartScenario = v
	}
}
