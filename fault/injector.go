package fault

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Errors returned by the Injector.
var (
	ErrNotFound        = errors.New("fault: no such rule")
	ErrUnknownScenario = errors.New("fault: no such scenario")
	ErrNotRunning      = errors.New("fault: scenario is not running")
	ErrClosed          = errors.New("fault: injector closed")
)

// Options configure an Injector. The zero value is usable.
type Options struct {
	// Now is the clock; nil means time.Now. Timers (rule and scenario
	// timelines) use the time package, so tests control them with
	// testing/synctest.
	Now func() time.Time
	// Rand returns numbers in [0, 1) for Rule.Probability; nil means
	// math/rand/v2's Float64. It must be safe for concurrent use.
	Rand func() float64
	// OnFire, when set, is called each time a rule affects a request or a
	// connection, on that request's goroutine. It must not block.
	OnFire func(Fired)
	// Scenarios are the named timelines StartScenario can run.
	Scenarios []Scenario
	// Notices posts the notices of scenario steps, on the step's timer
	// goroutine. Nil: a scenario with a notice step does not start.
	Notices Notifier
	// Logger gets one Info line per rule added, removed or ended. Nil
	// discards.
	Logger *slog.Logger
	// Registerer receives imdsemu_faults_fired_total. Nil means no metrics.
	Registerer prometheus.Registerer
}

// Fired reports one firing of a rule. For ActionRefuse without a client,
// which closes the listener, Method and Path are empty and Client is too.
type Fired struct {
	RuleID   string    `json:"rule"`
	Name     string    `json:"name,omitempty"`
	Scenario string    `json:"scenario,omitempty"`
	Action   Action    `json:"action"`
	Method   string    `json:"method,omitempty"`
	Path     string    `json:"path,omitempty"`
	Client   string    `json:"client,omitempty"`
	At       time.Time `json:"at"`
}

// Status is a rule as listed: the rule with its ID, where it came from, when
// it started and ends, and how often it matched and fired.
type Status struct {
	Rule
	Scenario string     `json:"scenario,omitempty"`
	Added    time.Time  `json:"added"`
	Ends     *time.Time `json:"ends,omitempty"`
	Matched  uint64     `json:"matched"`
	Fired    uint64     `json:"fired"`
}

// Injector holds the active rules and applies them: Handler wraps the
// metadata handler, Listener wraps the metadata listener. Create it with New.
type Injector struct {
	now     func() time.Time
	rand    func() float64
	onFire  func(Fired)
	notices Notifier
	log     *slog.Logger
	metrics *metrics

	// rules is read once per request without a lock. It is nil when no
	// rule is active, so the cost of an idle Injector is one atomic load.
	rules atomic.Pointer[[]*rule]

	mu        sync.Mutex // guards everything below; writers of rules hold it
	nextID    uint64
	changed   chan struct{} // closed and replaced whenever rules change
	listeners map[*Listener]struct{}
	held      map[net.Conn]*rule // blackholed connections
	scenarios map[string]Scenario
	running   map[string]*scenarioRun
	closed    bool
	done      chan struct{} // closed by Close
}

// rule is an active Rule with its counters.
type rule struct {
	Rule
	scenario string
	added    time.Time
	until    time.Time // zero: until removed
	client   netip.Prefix
	hasCl    bool
	matched  atomic.Uint64
	fired    atomic.Uint64
	ended    atomic.Bool
	release  atomic.Bool // ended in a way that releases held connections
}

// New returns an Injector with no active rule.
func New(opts Options) (*Injector, error) {
	in := &Injector{
		now:       opts.Now,
		rand:      opts.Rand,
		onFire:    opts.OnFire,
		notices:   opts.Notices,
		log:       opts.Logger,
		changed:   make(chan struct{}),
		listeners: map[*Listener]struct{}{},
		held:      map[net.Conn]*rule{},
		scenarios: map[string]Scenario{},
		running:   map[string]*scenarioRun{},
		done:      make(chan struct{}),
	}
	if in.now == nil {
		in.now = time.Now
	}
	if in.rand == nil {
		in.rand = rand.Float64
	}
	if in.log == nil {
		in.log = slog.New(slog.DiscardHandler)
	}
	for _, s := range opts.Scenarios {
		if err := in.DefineScenario(s); err != nil {
			return nil, err
		}
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	in.metrics = m
	return in, nil
}

// Add validates r and activates it. Its For, if any, counts from now. The
// returned Status carries the assigned ID.
func (in *Injector) Add(r Rule) (Status, error) {
	return in.add(r, "")
}

func (in *Injector) add(r Rule, scenario string) (Status, error) {
	r = r.Normalize()
	if err := r.Validate(); err != nil {
		return Status{}, err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.addLocked(r, scenario)
}

// addLocked activates a normalized, valid rule. in.mu is held.
func (in *Injector) addLocked(r Rule, scenario string) (Status, error) {
	if in.closed {
		return Status{}, ErrClosed
	}
	in.nextID++
	r.ID = strconv.FormatUint(in.nextID, 10)
	nr := &rule{Rule: r, scenario: scenario, added: in.now()}
	if r.For > 0 {
		nr.until = nr.added.Add(time.Duration(r.For))
	}
	if r.Client != "" {
		nr.client, _ = parseClient(r.Client)
		nr.hasCl = true
	}
	var list []*rule
	if cur := in.rules.Load(); cur != nil {
		list = slices.Clone(*cur)
	}
	list = append(list, nr)
	in.rules.Store(&list)
	in.notifyLocked()
	in.log.Info("fault rule added", "id", r.ID, "action", string(r.Action), "scenario", scenario)
	if r.Action == ActionRefuse && !nr.hasCl {
		for l := range in.listeners {
			l.goDown()
		}
		in.fire(nr, Fired{})
	}
	return nr.status(), nil
}

// Remove ends the rule with the given ID and releases the connections it
// holds.
func (in *Injector) Remove(id string) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, r := range in.list() {
		if r.ID == id {
			in.retireLocked(r, "removed")
			return nil
		}
	}
	return ErrNotFound
}

// Clear ends every rule (scenarios keep running: their later steps still
// add rules) and returns how many there were.
func (in *Injector) Clear() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	list := in.list()
	for _, r := range list {
		in.retireLocked(r, "cleared")
	}
	return len(list)
}

// Rules lists the active rules in the order they were added.
func (in *Injector) Rules() []Status {
	list := in.list()
	out := make([]Status, 0, len(list))
	now := in.now()
	for _, r := range list {
		if r.ended.Load() || r.expired(now) {
			continue
		}
		out = append(out, r.status())
	}
	return out
}

// Rule returns the active rule with the given ID.
func (in *Injector) Rule(id string) (Status, bool) {
	for _, s := range in.Rules() {
		if s.ID == id {
			return s, true
		}
	}
	return Status{}, false
}

// Close ends every rule and scenario, releases held connections, wakes
// sleeping requests and stops wrapped listeners from binding again. It is
// safe to call more than once; register it with http.Server.RegisterOnShutdown.
func (in *Injector) Close() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return
	}
	in.closed = true
	for _, run := range in.running {
		run.stop()
	}
	clear(in.running)
	for _, r := range in.list() {
		in.retireLocked(r, "closed")
	}
	for c := range in.held {
		_ = c.SetReadDeadline(time.Unix(1, 0))
	}
	close(in.done)
}

func (in *Injector) list() []*rule {
	if p := in.rules.Load(); p != nil {
		return *p
	}
	return nil
}

// retire ends r (if it is still active) for a reason logged at Info.
func (in *Injector) retire(r *rule, reason string) {
	if r.ended.Load() {
		return
	}
	in.mu.Lock()
	in.retireLocked(r, reason)
	in.mu.Unlock()
}

// retireLocked removes r from the active list. Connections r blackholes are
// released unless it ended by running out of Times or First: those stay held
// until For elapses, the client gives up or the server stops.
func (in *Injector) retireLocked(r *rule, reason string) {
	cur := in.list()
	i := slices.Index(cur, r)
	if i < 0 {
		return
	}
	r.ended.Store(true)
	list := slices.Delete(slices.Clone(cur), i, i+1)
	if len(list) == 0 {
		in.rules.Store(nil)
	} else {
		in.rules.Store(&list)
	}
	if reason != "used up" {
		r.release.Store(true)
		for c, hr := range in.held {
			if hr == r {
				_ = c.SetReadDeadline(time.Unix(1, 0))
			}
		}
	}
	in.notifyLocked()
	in.log.Info("fault rule ended", "id", r.ID, "action", string(r.Action), "reason", reason)
}

func (in *Injector) notifyLocked() {
	close(in.changed)
	in.changed = make(chan struct{})
}

// fire counts a firing and reports it. ev carries the request's details.
func (in *Injector) fire(r *rule, ev Fired) {
	in.metrics.fired(r.Action)
	if in.onFire == nil {
		return
	}
	ev.RuleID, ev.Name, ev.Scenario, ev.Action = r.ID, r.Name, r.scenario, r.Action
	if ev.At.IsZero() {
		ev.At = in.now()
	}
	in.onFire(ev)
}

func (r *rule) expired(now time.Time) bool {
	return !r.until.IsZero() && !now.Before(r.until)
}

func (r *rule) status() Status {
	s := Status{Rule: r.Rule, Scenario: r.scenario, Added: r.added, Matched: r.matched.Load(), Fired: r.fired.Load()}
	if !r.until.IsZero() {
		u := r.until
		s.Ends = &u
	}
	return s
}

// take decides, for a request the rule matches, whether the rule affects it
// this time, and ends the rule when it has been used up.
func (in *Injector) take(r *rule) bool {
	n := r.matched.Add(1)
	if r.First > 0 && n > uint64(r.First) {
		in.retire(r, "used up")
		return false
	}
	lastLook := r.First > 0 && n == uint64(r.First)
	ok := (r.Every <= 1 || n%uint64(r.Every) == 0) && (r.Probability == nil || in.rand() < *r.Probability)
	if ok && r.Times > 0 {
		ok = false
		for {
			f := r.fired.Load()
			if f >= uint64(r.Times) {
				break
			}
			if r.fired.CompareAndSwap(f, f+1) {
				ok = true
				if f+1 == uint64(r.Times) {
					lastLook = true
				}
				break
			}
		}
	} else if ok {
		r.fired.Add(1)
	}
	if lastLook {
		in.retire(r, "used up")
	}
	return ok
}

// outage reports whether a listener outage is active and, if some of the
// active outages are timed, the earliest time one of them ends (zero when
// they all last until removed), when the listener should look again. It
// retires outages whose time is up.
func (in *Injector) outage() (next time.Time, active bool) {
	now := in.now()
	for _, r := range in.list() {
		if r.Action != ActionRefuse || r.hasCl || r.ended.Load() {
			continue
		}
		if r.expired(now) {
			in.retire(r, "time up")
			continue
		}
		active = true
		if !r.until.IsZero() && (next.IsZero() || r.until.Before(next)) {
			next = r.until
		}
	}
	return next, active
}

// changes returns a channel closed at the next change of the rules, and
// the injector's done channel.
func (in *Injector) changes() (changed, done <-chan struct{}) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.changed, in.done
}

// String describes a rule for logs and the CLI.
func (r Rule) String() string {
	s := string(r.Action)
	switch r.Action {
	case ActionStatus:
		s += " " + strconv.Itoa(r.Status)
	case ActionLatency:
		s += " " + r.Delay.String()
	case ActionMalformed:
		s += " " + r.Body
	case ActionExpiring:
		s += " in " + r.ExpiresIn.String()
	}
	for _, m := range []struct{ k, v string }{{"method", r.Method}, {"path", r.Path}, {"version", r.Version}, {"client", r.Client}} {
		if m.v != "" {
			s += fmt.Sprintf(" %s=%s", m.k, m.v)
		}
	}
	return s
}
