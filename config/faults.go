package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/imdsemu/imdsemu/fault"
)

// This file holds the fault injection settings: named scenarios (timelines
// of fault rules, written with the control API's field names) and the
// scenario `imdsemu serve` starts with.

// scenarios checks each of the scenarios the decoder found no fault with.
func (d *decoder) scenarios(scenarios []fault.Scenario) {
	for _, sc := range scenarios {
		p := join("scenarios", sc.Name)
		if d.failed(p) {
			continue
		}
		for _, e := range unjoin(sc.Validate()) {
			var fe *fault.FieldError
			if !errors.As(e, &fe) {
				continue
			}
			if fe.Field == "name" {
				d.errorAt(d.keys[p], p, fe.Msg)
				continue
			}
			field := p
			if rest, ok := strings.CutPrefix(fe.Field, "steps"); ok {
				field = p + rest
			}
			d.addAt(field, "", fe.Msg)
		}
	}
}

// validateFaults checks that start-scenario names a scenario and that the
// instance is one each scenario's notices apply to.
func (s Settings) validateFaults(add func(field, msg string)) {
	for _, sc := range s.Scenarios {
		for i, st := range sc.Steps {
			if st.Notice == nil {
				continue
			}
			field := fmt.Sprintf("scenarios.%s[%d].notice", sc.Name, i)
			switch st.Notice.Requires() {
			case "spot":
				if s.Instance.LifeCycle != "spot" {
					add(field, fmt.Sprintf("a %s notice needs a Spot instance: set instance.life-cycle: spot", st.Notice.Kind))
				}
			case "auto-scaling":
				if !s.Instance.AutoScaling {
					add(field, fmt.Sprintf("an %s notice needs an instance in an Auto Scaling group: set instance.auto-scaling: true", st.Notice.Kind))
				}
			}
		}
	}
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
