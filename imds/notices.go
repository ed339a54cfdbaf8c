package imds

import (
	cryptorand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Notice kinds: what EC2 tells an instance through its metadata before it
// acts on it.
const (
	// NoticeSpotInterruption posts spot/instance-action (and, for
	// terminate, spot/termination-time). Spot instances only.
	NoticeSpotInterruption = "spot-interruption"
	// NoticeRebalance posts events/recommendations/rebalance. Spot
	// instances only.
	NoticeRebalance = "rebalance"
	// NoticeMaintenance schedules an event under events/maintenance/.
	NoticeMaintenance = "maintenance"
	// NoticeASGLifecycle sets autoscaling/target-lifecycle-state.
	// Instances in an Auto Scaling group only.
	NoticeASGLifecycle = "asg-lifecycle"
)

// NoticeKinds lists the notice kinds.
func NoticeKinds() []string {
	return []string{NoticeSpotInterruption, NoticeRebalance, NoticeMaintenance, NoticeASGLifecycle}
}

// SpotActions are the actions of a Spot interruption; the first is the
// default.
func SpotActions() []string { return []string{"terminate", "stop", "hibernate"} }

// MaintenanceCodes are the codes of scheduled events (EC2 API Reference,
// InstanceStatusEvent), with the description each gets by default.
var maintenanceCodes = map[string]string{
	"instance-reboot":     "scheduled reboot",
	"system-reboot":       "scheduled reboot",
	"system-maintenance":  "scheduled maintenance",
	"instance-retirement": "The instance is running on degraded hardware",
	"instance-stop":       "The instance is running on degraded hardware",
}

// MaintenanceCodes lists the codes of scheduled maintenance events.
func MaintenanceCodes() []string {
	return []string{"system-reboot", "system-maintenance", "instance-retirement", "instance-reboot", "instance-stop"}
}

// LifecycleStates are the target lifecycle states Auto Scaling posts
// (Amazon EC2 Auto Scaling User Guide, "Retrieve the target lifecycle state
// through instance metadata"); InService is the state of a running member.
func LifecycleStates() []string {
	return []string{"InService", "Standby", "Detached", "Terminated",
		"Warmed:Running", "Warmed:Stopped", "Warmed:Hibernated", "Warmed:Terminated"}
}

// Maintenance event states, as events/maintenance/ reports them.
const (
	MaintenanceActive    = "active"
	MaintenanceCompleted = "completed"
	MaintenanceCanceled  = "canceled"
)

// Defaults of a NoticeRequest.
const (
	// DefaultSpotWarning is the time from a Spot interruption notice to
	// its action: EC2's two-minute warning (none for hibernate).
	DefaultSpotWarning = 2 * time.Minute
	// DefaultMaintenanceIn is the time from scheduling a maintenance event
	// to its NotBefore, and DefaultMaintenanceWindow its length.
	DefaultMaintenanceIn     = 24 * time.Hour
	DefaultMaintenanceWindow = 2 * time.Hour
)

// ErrNotApplicable is wrapped by Fire's error when the notice does not
// apply to this instance: a Spot notice to an on-demand instance, a
// lifecycle state to an instance in no Auto Scaling group.
var ErrNotApplicable = errors.New("notice does not apply to this instance")

// ErrNoNotice is returned by Cancel for an id that names no notice.
var ErrNoNotice = errors.New("no such notice")

// NoticeRequest asks for a notice. Fields that do not apply to Kind must
// be zero.
type NoticeRequest struct {
	Kind string
	// Action is a Spot interruption's action: terminate (""), stop or
	// hibernate.
	Action string
	// In is the time from now to a Spot interruption's action (0:
	// DefaultSpotWarning, or at once for hibernate) or to a maintenance
	// event's NotBefore (0: DefaultMaintenanceIn). Negative is not allowed.
	In time.Duration
	// Duration is a maintenance event's window, NotBefore to NotAfter (0:
	// DefaultMaintenanceWindow).
	Duration time.Duration
	// Code is a maintenance event's code (MaintenanceCodes) and
	// Description its description ("": the code's usual one).
	Code, Description string
	// State is the Auto Scaling target lifecycle state (LifecycleStates).
	State string
}

// Notice is a notice as posted.
type Notice struct {
	// ID names the notice: the kind for the one-of-a-kind notices, the
	// EventId (instance-event-…) of a maintenance event.
	ID     string
	Kind   string
	Posted time.Time
	// Action and Time are a Spot interruption's action and when it takes
	// place.
	Action string
	Time   time.Time
	// NotBefore, NotAfter, Code, Description and State are a maintenance
	// event's; State is also the lifecycle state of an asg-lifecycle
	// notice.
	NotBefore, NotAfter time.Time
	Code, Description   string
	State               string
}

// Notices are an instance's notices: Spot interruption, rebalance
// recommendation, maintenance events and the Auto Scaling target lifecycle
// state. The metadata server renders them on each request; time moves
// maintenance events from scheduled to history as their window ends, read
// from the clock when asked, so Notices needs no goroutine. Safe for
// concurrent use.
type Notices struct {
	now   func() time.Time
	rand  io.Reader
	spot  bool // the instance is a Spot instance
	inASG bool // the instance is in an Auto Scaling group
	// posted are the notices, made by the first Fire: most instances of
	// a fleet never get one, and until then a request reads this pointer
	// only, without the lock.
	posted atomic.Pointer[posted]
}

// posted are the notices posted to one instance.
type posted struct {
	mu     sync.Mutex
	interr *Notice   // spot interruption
	rebal  *Notice   // rebalance recommendation
	maint  []*Notice // maintenance events, scheduled and past, by NotBefore
	asg    *Notice   // lifecycle state other than InService
}

// state returns the notices posted, locked, or nil (not locked) if none
// ever were. The caller unlocks a state it got.
func (n *Notices) state() *posted {
	p := n.posted.Load()
	if p != nil {
		p.mu.Lock()
	}
	return p
}

// NewNotices returns the notices of the instance in, none posted yet: the
// notices of an instance that New serves when given as
// [Options.Notices]. now is the clock (nil: time.Now) and rand the source
// of maintenance event ids (nil: crypto/rand.Reader).
func NewNotices(in Instance, now func() time.Time, rand io.Reader) *Notices {
	if now == nil {
		now = time.Now
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	return &Notices{now: now, rand: rand, spot: in.LifeCycle == LifeCycleSpot, inASG: in.AutoScaling}
}

// Fire posts the notice r asks for and returns it. A Spot interruption,
// a rebalance recommendation or a lifecycle state replaces the one posted
// before; maintenance events add up.
func (n *Notices) Fire(r NoticeRequest) (Notice, error) {
	if err := n.check(r); err != nil {
		return Notice{}, err
	}
	now := n.now().UTC().Truncate(time.Second)
	no := &Notice{ID: r.Kind, Kind: r.Kind, Posted: now}
	switch r.Kind {
	case NoticeSpotInterruption:
		no.Action = r.Action
		if no.Action == "" {
			no.Action = SpotActions()[0]
		}
		in := r.In
		if in == 0 && no.Action != "hibernate" {
			in = DefaultSpotWarning
		}
		no.Time = now.Add(in).Truncate(time.Second)
	case NoticeMaintenance:
		in, window := r.In, r.Duration
		if in == 0 {
			in = DefaultMaintenanceIn
		}
		if window == 0 {
			window = DefaultMaintenanceWindow
		}
		id := make([]byte, 9)
		if _, err := io.ReadFull(n.rand, id); err != nil {
			return Notice{}, fmt.Errorf("imds: maintenance event id: %w", err)
		}
		no.ID = "instance-event-" + hex.EncodeToString(id)[:17]
		no.Code, no.Description, no.State = r.Code, r.Description, MaintenanceActive
		if no.Description == "" {
			no.Description = maintenanceCodes[r.Code]
		}
		no.NotBefore = now.Add(in).Truncate(time.Second)
		no.NotAfter = no.NotBefore.Add(window).Truncate(time.Second)
	case NoticeASGLifecycle:
		no.State = r.State
	}
	n.posted.CompareAndSwap(nil, &posted{})
	p := n.state()
	defer p.mu.Unlock()
	switch r.Kind {
	case NoticeSpotInterruption:
		p.interr = no
	case NoticeRebalance:
		p.rebal = no
	case NoticeASGLifecycle:
		p.asg = no
	case NoticeMaintenance:
		p.maint = append(p.maint, no)
		slices.SortStableFunc(p.maint, func(a, b *Notice) int { return a.NotBefore.Compare(b.NotBefore) })
	}
	return *no, nil
}

// Validate reports the first problem with r that does not depend on the
// instance: an unknown kind, a field the kind does not take, a value
// outside its set.
func (r NoticeRequest) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("imds: %s notice: "+format, append([]any{r.Kind}, args...)...)
	}
	spotAction := r.Kind == NoticeSpotInterruption
	maint := r.Kind == NoticeMaintenance
	switch {
	case !slices.Contains(NoticeKinds(), r.Kind):
		return fmt.Errorf("imds: unknown notice kind %q: want one of %s", r.Kind, strings.Join(NoticeKinds(), ", "))
	case r.Action != "" && !spotAction:
		return bad("takes no action (only %s does)", NoticeSpotInterruption)
	case spotAction && r.Action != "" && !slices.Contains(SpotActions(), r.Action):
		return bad("action must be one of %s, got %q", strings.Join(SpotActions(), ", "), r.Action)
	case r.In < 0:
		return bad("in must not be negative, got %s", r.In)
	case r.In != 0 && !spotAction && !maint:
		return bad("takes no in (only %s and %s do)", NoticeSpotInterruption, NoticeMaintenance)
	case r.Duration < 0 || (r.Duration != 0 && !maint):
		return bad("duration is a maintenance window, 0 or more, only for %s", NoticeMaintenance)
	case (r.Code != "" || r.Description != "") && !maint:
		return bad("takes no code or description (only %s does)", NoticeMaintenance)
	case maint && maintenanceCodes[r.Code] == "":
		return bad("code must be one of %s, got %q", strings.Join(MaintenanceCodes(), ", "), r.Code)
	case strings.ContainsAny(r.Description, "\r\n") || len(r.Description) > 255:
		return bad("description must be one line of at most 255 characters")
	case r.State != "" && r.Kind != NoticeASGLifecycle:
		return bad("takes no state (only %s does)", NoticeASGLifecycle)
	case r.Kind == NoticeASGLifecycle && !slices.Contains(LifecycleStates(), r.State):
		return bad("state must be one of %s, got %q", strings.Join(LifecycleStates(), ", "), r.State)
	}
	return nil
}

// check is Validate and whether the notice applies to this instance.
func (n *Notices) check(r NoticeRequest) error {
	if err := r.Validate(); err != nil {
		return err
	}
	switch {
	case (r.Kind == NoticeSpotInterruption || r.Kind == NoticeRebalance) && !n.spot:
		return fmt.Errorf("imds: %s notice: the instance is on-demand; Spot notices need a Spot instance (instance life cycle spot): %w", r.Kind, ErrNotApplicable)
	case r.Kind == NoticeASGLifecycle && !n.inASG:
		return fmt.Errorf("imds: %s notice: the instance is in no Auto Scaling group: %w", r.Kind, ErrNotApplicable)
	}
	return nil
}

// List returns the notices posted, maintenance events with their state at
// this moment: the Spot interruption, the rebalance recommendation, the
// lifecycle state, then maintenance events by NotBefore.
func (n *Notices) List() []Notice {
	now := n.now()
	p := n.state()
	if p == nil {
		return nil
	}
	defer p.mu.Unlock()
	var out []Notice
	for _, no := range []*Notice{p.interr, p.rebal, p.asg} {
		if no != nil {
			out = append(out, *no)
		}
	}
	for _, m := range p.maint {
		out = append(out, m.at(now))
	}
	return out
}

// Cancel ends one notice: a scheduled maintenance event is canceled (it
// moves to history); any other notice is withdrawn (its item answers 404
// again, and the lifecycle state is InService again). It returns the
// notice as it ends.
func (n *Notices) Cancel(id string) (Notice, error) {
	now := n.now()
	p := n.state()
	if p == nil {
		return Notice{}, fmt.Errorf("imds: %q: %w", id, ErrNoNotice)
	}
	defer p.mu.Unlock()
	for _, one := range []**Notice{&p.interr, &p.rebal, &p.asg} {
		if *one != nil && (*one).ID == id {
			no := **one
			*one = nil
			return no, nil
		}
	}
	for _, m := range p.maint {
		if m.ID != id {
			continue
		}
		if cur := m.at(now); cur.State != MaintenanceActive {
			return cur, fmt.Errorf("imds: maintenance event %s is already %s: %w", id, cur.State, ErrNoNotice)
		}
		m.State = MaintenanceCanceled
		m.Description = "[Canceled] " + m.Description
		return *m, nil
	}
	return Notice{}, fmt.Errorf("imds: %q: %w", id, ErrNoNotice)
}

// Clear withdraws every notice, maintenance history included, and reports
// how many there were.
func (n *Notices) Clear() int {
	p := n.state()
	if p == nil {
		return 0
	}
	defer p.mu.Unlock()
	c := len(p.maint)
	for _, no := range []*Notice{p.interr, p.rebal, p.asg} {
		if no != nil {
			c++
		}
	}
	p.interr, p.rebal, p.asg, p.maint = nil, nil, nil, nil
	return c
}

// at is the event as it stands at now: an active event whose window has
// ended is completed.
func (m *Notice) at(now time.Time) Notice {
	no := *m
	if no.State == MaintenanceActive && !now.Before(no.NotAfter) {
		no.State = MaintenanceCompleted
		no.Description = "[Completed] " + no.Description
	}
	return no
}

// The documents the metadata server renders from the notices. Each returns
// nil while there is nothing to serve (404).

// spotAction renders spot/instance-action: {"action": "…", "time": "…"}
// (EC2 User Guide, "Spot Instance interruption notices").
func (n *Notices) spotAction() []byte {
	no := n.spotInterruption()
	if no == nil {
		return nil
	}
	b := []byte(`{"action": `)
	b = appendJSONString(b, no.Action)
	b = append(b, `, "time": "`...)
	b = appendTimestamp(b, no.Time)
	return append(b, `"}`...)
}

// terminationTime renders spot/termination-time, present only when the
// instance is marked for termination (EC2 User Guide, "termination-time").
func (n *Notices) terminationTime() []byte {
	no := n.spotInterruption()
	if no == nil || no.Action != "terminate" {
		return nil
	}
	return appendTimestamp(nil, no.Time)
}

// rebalance renders events/recommendations/rebalance: {"noticeTime": "…"}
// (EC2 User Guide, "EC2 instance rebalance recommendations").
func (n *Notices) rebalance() []byte {
	no := n.rebalanceNotice()
	if no == nil {
		return nil
	}
	b := []byte(`{"noticeTime": "`)
	b = appendTimestamp(b, no.Posted)
	return append(b, `"}`...)
}

// lifecycleState is autoscaling/target-lifecycle-state.
func (n *Notices) lifecycleState() string {
	p := n.state()
	if p == nil {
		return "InService"
	}
	defer p.mu.Unlock()
	if p.asg == nil {
		return "InService"
	}
	return p.asg.State
}

// maintenance renders events/maintenance/scheduled (history false: the
// active events) or events/maintenance/history (completed and canceled
// ones) as EC2 does (EC2 User Guide, "View scheduled events", instance
// metadata): a JSON array, "[]" when empty, times like "21 Jan 2019
// 09:00:43 GMT", in the key order and layout of the guide's example.
func (n *Notices) maintenance(history bool) []byte {
	now := n.now()
	var events []Notice
	if p := n.state(); p != nil {
		for _, m := range p.maint {
			if e := m.at(now); (e.State == MaintenanceActive) != history {
				events = append(events, e)
			}
		}
		p.mu.Unlock()
	}
	if len(events) == 0 {
		return []byte("[]")
	}
	const layout = "2 Jan 2006 15:04:05 GMT"
	b := []byte("[ ")
	for i, e := range events {
		if i > 0 {
			b = append(b, ", "...)
		}
		field := func(k, v string, last bool) {
			b = append(b, "\n    \""...)
			b = append(b, k...)
			b = append(b, "\" : "...)
			b = appendJSONString(b, v)
			if !last {
				b = append(b, ',')
			}
		}
		b = append(b, "\n  {"...)
		field("NotBefore", e.NotBefore.UTC().Format(layout), false)
		field("Code", e.Code, false)
		field("Description", e.Description, false)
		field("EventId", e.ID, false)
		field("NotAfter", e.NotAfter.UTC().Format(layout), false)
		field("State", e.State, true)
		b = append(b, "\n  }"...)
	}
	return append(b, " \n]"...)
}

// spotPosted and rebalancePosted report whether those notices are posted.
func (n *Notices) spotPosted() bool { return n.spotInterruption() != nil }

func (n *Notices) rebalancePosted() bool { return n.rebalanceNotice() != nil }

// spotInterruption and rebalanceNotice are the notices posted of their
// kinds, or nil. Neither is modified once posted (Cancel drops it).
func (n *Notices) spotInterruption() *Notice {
	p := n.state()
	if p == nil {
		return nil
	}
	defer p.mu.Unlock()
	return p.interr
}

func (n *Notices) rebalanceNotice() *Notice {
	p := n.state()
	if p == nil {
		return nil
	}
	defer p.mu.Unlock()
	return p.rebal
}
