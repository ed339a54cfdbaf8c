package lab

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed scenarios/*.yaml
var builtin embed.FS

// Scenario is a timeline of server actions and what each lane is expected
// to have seen at the end. Scenarios are YAML files: the shipped ones are
// embedded in the binary and run by name; a path runs a file of yours.
type Scenario struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Duration of the run; ticks every Interval from 0 up to it.
	Duration Duration `yaml:"duration"`
	Interval Duration `yaml:"interval"`
	// Server are the flags of the "imdsemu serve" the lab starts (ignored
	// with --endpoint), such as rotation-interval: 30s.
	Server map[string]string `yaml:"server"`
	// StaticKey: the lab creates an IAM user and writes its key to the
	// profile lane's credentials file.
	StaticKey bool `yaml:"static_key"`
	// ProfileAge back-dates the profile lane's first read of the file by
	// this much, as if the application had started that long before the
	// run: Java v1 checks the file 5 minutes after a read, which a 3-minute
	// run would not otherwise reach.
	ProfileAge Duration `yaml:"profile_age"`
	Steps      []Step   `yaml:"steps"`
	// Expect maps a lane selector (a lane name such as "java-v1-sync@1.11",
	// a name without "@VERSION" for every release of it, a glob such as
	// "java-*", or "models", "sdks", "all") to its expectations.
	Expect map[string]Expectation `yaml:"expect"`
}

// Step is one server action at a time after the start.
type Step struct {
	At Duration `yaml:"at"`
	// Exactly one action:
	Fault      *Fault `yaml:"fault"`          // add a fault rule (the admin API's rule, fields as in docs/faults.md)
	ClearFault bool   `yaml:"clear_faults"`   // remove every fault rule
	Rotate     bool   `yaml:"rotate"`         // mint the next generation now
	Revoke     bool   `yaml:"revoke"`         // revoke the instance role's sessions issued before now
	Deactivate string `yaml:"deactivate_key"` // "current" or "previous" (the key before the last rewrite)
	RewriteKey bool   `yaml:"rewrite_key"`    // a new key for the user, written over the credentials file
	Note       string `yaml:"note"`           // shown as the event's label
}

// Fault is an admin API fault rule (docs/faults.md).
type Fault struct {
	Action    string   `yaml:"action" json:"action"`
	Path      string   `yaml:"path" json:"path,omitempty"`
	Method    string   `yaml:"method" json:"method,omitempty"`
	Status    int      `yaml:"status" json:"status,omitempty"`
	Delay     Duration `yaml:"delay" json:"delay,omitempty"`
	ExpiresIn Duration `yaml:"expires_in" json:"expires-in,omitempty"`
	Times     int      `yaml:"times" json:"times,omitempty"`
	For       Duration `yaml:"for" json:"for,omitempty"`
}

// Action names the step's action, for reports.
func (s Step) Action() string {
	switch {
	case s.Fault != nil:
		a := "fault " + s.Fault.Action
		if s.Fault.Status != 0 {
			a += " " + strconv.Itoa(s.Fault.Status)
		}
		if s.Fault.Path != "" {
			a += " " + s.Fault.Path
		}
		if s.Fault.ExpiresIn != 0 {
			a += " in " + s.Fault.ExpiresIn.String()
		}
		if s.Fault.Delay != 0 {
			a += " " + s.Fault.Delay.String()
		}
		if s.Fault.For != 0 {
			a += " for " + s.Fault.For.String()
		}
		return a
	case s.ClearFault:
		return "clear faults"
	case s.Rotate:
		return "rotate"
	case s.Revoke:
		return "revoke role sessions"
	case s.Deactivate != "":
		return "deactivate " + s.Deactivate + " static key"
	case s.RewriteKey:
		return "rewrite credentials file"
	}
	return "?"
}

func (s Step) actions() int {
	n := 0
	for _, b := range []bool{s.Fault != nil, s.ClearFault, s.Rotate, s.Revoke, s.Deactivate != "", s.RewriteKey} {
		if b {
			n++
		}
	}
	return n
}

// Duration is a time.Duration written as "90s" in YAML.
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q: want a duration such as 90s or 2m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON renders the duration as the admin API reads it.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(d.String())), nil }

func (d Duration) String() string { return time.Duration(d).String() }

// D is the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MaxDuration caps a scenario: each one finishes in at most three minutes.
const MaxDuration = 3 * time.Minute

// Builtin lists the shipped scenarios' names.
func Builtin() []string {
	ents, _ := fs.ReadDir(builtin, "scenarios")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// LoadScenario returns the shipped scenario called name, or parses the file
// at name when it names one (it contains a slash or ends in .yaml).
func LoadScenario(name string) (*Scenario, error) {
	var data []byte
	var err error
	if strings.ContainsRune(name, '/') || strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") {
		data, err = os.ReadFile(name)
	} else {
		data, err = builtin.ReadFile(path.Join("scenarios", name+".yaml"))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("lab: no scenario %q; shipped: %s; or give a path to a YAML file", name, strings.Join(Builtin(), ", "))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("lab: scenario: %w", err)
	}
	return ParseScenario(data)
}

// ParseScenario parses and checks a scenario; unknown fields are errors.
func ParseScenario(data []byte) (*Scenario, error) {
	var s Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("lab: scenario: %w", err)
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("lab: scenario %q: %w", s.Name, err)
	}
	return &s, nil
}

func (s *Scenario) validate() error {
	if s.Interval == 0 {
		s.Interval = Duration(5 * time.Second)
	}
	switch {
	case s.Name == "":
		return errors.New("no name")
	case s.Duration <= 0 || s.Duration.D() > MaxDuration:
		return fmt.Errorf("duration %v: must be in (0, %v]", s.Duration, MaxDuration)
	case s.Interval < 0 || s.Interval > s.Duration:
		return fmt.Errorf("interval %v: must be positive and at most the duration", s.Interval)
	}
	for i, st := range s.Steps {
		if st.actions() != 1 {
			return fmt.Errorf("step %d (at %v): want exactly one action", i+1, st.At)
		}
		if st.At < 0 || st.At > s.Duration {
			return fmt.Errorf("step %d: at %v is outside the run", i+1, st.At)
		}
		if st.Deactivate != "" && st.Deactivate != "current" && st.Deactivate != "previous" {
			return fmt.Errorf("step %d: deactivate_key %q: want current or previous", i+1, st.Deactivate)
		}
		if (st.Deactivate != "" || st.RewriteKey) && !s.StaticKey {
			return fmt.Errorf("step %d: %s needs static_key: true", i+1, st.Action())
		}
	}
	sort.SliceStable(s.Steps, func(i, j int) bool { return s.Steps[i].At < s.Steps[j].At })
	for sel, e := range s.Expect {
		if err := e.validate(); err != nil {
			return fmt.Errorf("expect %s: %w", sel, err)
		}
	}
	return nil
}
