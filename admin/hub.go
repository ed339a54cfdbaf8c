package admin

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imdsemu/imdsemu/fault"
)

// Event types.
const (
	EventIssued     = "issued"      // a new credential generation is current
	EventSuperseded = "superseded"  // a newer generation replaced it; still valid
	EventExpired    = "expired"     // a superseded generation reached its expiry
	EventMintFailed = "mint_failed" // minting the next generation failed
	EventServed     = "served"      // a credential document was served
	EventFaultFired = "fault_fired" // a fault rule affected a request
	// EventOptionsChanged reports a change made through the control API:
	// metadata options, fault rules, scenarios, rotation or the attached
	// role. Change says which.
	EventOptionsChanged = "options_changed"
)

// EventTypes lists the event types.
func EventTypes() []string {
	return []string{EventIssued, EventSuperseded, EventExpired, EventMintFailed, EventServed, EventFaultFired, EventOptionsChanged, EventNotice, EventLab, EventDemo}
}

// Event is one thing that happened, as streamed by GET /v1/events. Fields
// that do not apply to a type are left out. No event carries a secret.
type Event struct {
	// ID increases by one with every event the Hub publishes.
	ID   uint64    `json:"id"`
	Type string    `json:"type"`
	At   time.Time `json:"at"`

	Profile     string     `json:"profile,omitempty"` // instance profile ARN
	Role        string     `json:"role,omitempty"`    // role ARN or name
	Seq         uint64     `json:"seq,omitempty"`
	AccessKeyID string     `json:"access_key_id,omitempty"`
	Expires     *time.Time `json:"expires,omitempty"` // issued: the generation's expiry
	// Due is when the mint was due (issued, mint_failed): At minus Due is
	// how late it came.
	Due *time.Time `json:"due,omitempty"`

	Client  string `json:"client,omitempty"`  // served: the client's IP address
	Version string `json:"version,omitempty"` // served: v1, v2 or ecs
	Path    string `json:"path,omitempty"`    // served: the request path

	Error string `json:"error,omitempty"` // mint_failed

	Fault *fault.Fired `json:"fault,omitempty"` // fault_fired

	Change string `json:"change,omitempty"` // options_changed, notice: what changed
	Detail any    `json:"detail,omitempty"` // options_changed, notice: the new state
}

// DefaultBuffer is how many events a subscriber may fall behind by before it
// is dropped.
const DefaultBuffer = 256

// ErrHubClosed is returned by Subscribe after Close.
var ErrHubClosed = errors.New("admin: event hub closed")

// Hub fans events out to subscribers. Publish never blocks: a subscriber
// whose buffer is full is dropped (its channel is closed and Dropped
// reports true). Safe for concurrent use.
type Hub struct {
	now    func() time.Time
	buffer int

	nsubs atomic.Int32 // subscribers, read without the lock by Publish

	mu     sync.Mutex
	nextID uint64
	subs   map[*Subscription]struct{}
	closed bool
}

// NewHub returns a Hub whose subscribers buffer up to buffer events (<= 0:
// DefaultBuffer). now stamps events that have no time (nil: time.Now).
func NewHub(buffer int, now func() time.Time) *Hub {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	if now == nil {
		now = time.Now
	}
	return &Hub{now: now, buffer: buffer, subs: map[*Subscription]struct{}{}}
}

// Subscription receives events on C until it is closed, dropped or the hub
// closes; then C is closed.
type Subscription struct {
	C       <-chan Event
	c       chan Event
	types   []string // nil: every type
	hub     *Hub
	dropped bool // guarded by hub.mu
	done    bool // guarded by hub.mu
}

// Subscribe adds a subscriber to events of the given types (none: every
// type). Events of other types do not take up its buffer, so a stream of
// rotations is not dropped for the credential documents served meanwhile.
func (h *Hub) Subscribe(types ...string) (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrHubClosed
	}
	c := make(chan Event, h.buffer)
	s := &Subscription{C: c, c: c, types: types, hub: h}
	h.subs[s] = struct{}{}
	h.nsubs.Add(1)
	return s, nil
}

// Close unsubscribes s. It is safe to call more than once.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(s)
}

// Dropped reports whether s was dropped for falling behind.
func (s *Subscription) Dropped() bool {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.dropped
}

func (h *Hub) removeLocked(s *Subscription) {
	if s.done {
		return
	}
	s.done = true
	delete(h.subs, s)
	h.nsubs.Add(-1)
	close(s.c)
}

// Publish stamps ev with the next ID (and the time, if it has none) and
// hands it to every subscriber without blocking.
func (h *Hub) Publish(ev Event) {
	if ev.At.IsZero() {
		ev.At = h.now()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.nextID++
	ev.ID = h.nextID
	for s := range h.subs {
		if s.types != nil && !slices.Contains(s.types, ev.Type) {
			continue
		}
		select {
		case s.c <- ev:
		default:
			s.dropped = true
			h.removeLocked(s)
		}
	}
}

// Subscribers returns the number of subscribers.
func (h *Hub) Subscribers() int { return int(h.nsubs.Load()) }

// Close ends every subscription; streams being served end. Later Publish
// calls do nothing. Register it with http.Server.RegisterOnShutdown, since
// Shutdown does not end streaming requests by itself.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for s := range h.subs {
		h.removeLocked(s)
	}
}
