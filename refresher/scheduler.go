package refresher

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsemu/imdsemu/credential"
)

// Issuer mints the credentials of one entry. It is declared here, where it
// is used; each entry has its own (an instance profile's, an instance
// identity role's), and key is the entry's key.
type Issuer interface {
	Issue(ctx context.Context, key string, lifetime time.Duration) (credential.Value, error)
}

// IssuerFunc adapts a function to Issuer.
type IssuerFunc func(ctx context.Context, key string, lifetime time.Duration) (credential.Value, error)

// Issue calls f.
func (f IssuerFunc) Issue(ctx context.Context, key string, lifetime time.Duration) (credential.Value, error) {
	return f(ctx, key, lifetime)
}

// Generation is one set of credentials of one entry. Generations are
// immutable once published. The entry's key is not repeated in each
// (events carry it): 104 bytes, the 112-byte size class, one kept per
// instance (TestGeneration_SizeClass).
type Generation struct {
	Seq         uint64 // 1 for the first generation of an entry
	Credentials credential.Value
}

// EventKind says what happened to a generation.
type EventKind string

// Event kinds.
const (
	EventIssued     EventKind = "issued"     // a new generation is current
	EventSuperseded EventKind = "superseded" // a newer one replaced it; it stays valid
	EventExpired    EventKind = "expired"    // past its expiry; forgotten
	EventMintFailed EventKind = "mint_failed"
)

// Event reports a change to an entry's generations.
type Event struct {
	Kind EventKind
	Key  string
	Seq  uint64
	// Credentials are the generation's, without their secrets; zero for
	// EventMintFailed.
	Credentials credential.Public
	At          time.Time
	// Due is when the mint was due (EventIssued and EventMintFailed): the
	// time the entry was added, its rotation or retry fell due, or
	// RotateNow asked for it. At minus Due is how late the mint was.
	Due time.Time
	Err error // for EventMintFailed
}

// Errors of RotateNow and Freeze.
var (
	ErrUnknownKey = errors.New("refresher: unknown key")
	ErrFrozen     = errors.New("refresher: rotation is frozen")
	// ErrNoGeneration: Ensure found the entry kept, but its first mint
	// failed and its retry has not succeeded yet.
	ErrNoGeneration = errors.New("refresher: no generation yet")
)

// Options configure a Scheduler. The zero value of every field is a usable
// default.
type Options struct {
	// Interval between generations; zero means one hour.
	Interval time.Duration
	// Lifetime of each generation; zero means six hours.
	Lifetime time.Duration
	// MinBackoff and MaxBackoff bound retries after a failed mint; zero means
	// one second and one minute.
	MinBackoff, MaxBackoff time.Duration
	// Now is the clock; nil means time.Now. Timers use the time package, so
	// tests control time with testing/synctest.
	Now func() time.Time
	// OnEvent, when set, is called for every event: from Run's goroutine,
	// and from Ensure's caller for the first mint it makes (so possibly
	// from several goroutines at once). It must not block.
	OnEvent    func(Event)
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Scheduler keeps the generations of a set of entries current.
type Scheduler struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics

	// epoch is when the Scheduler was made: entries keep their times as
	// offsets from it (8 bytes each, where a time.Time is 24).
	epoch time.Time

	mu      sync.Mutex // guards entries, queue, firsts and every entry's fields but cur
	entries map[string]*entry
	queue   queue
	// firsts holds a channel, closed when it is done, for each entry
	// whose first mint Ensure is making in its caller.
	firsts map[*entry]chan struct{}
	wake   chan struct{}
}

// entry is one key's. The Scheduler keeps one per instance (and one more
// for an instance whose identity role credentials were asked for), so it
// is kept small: 80 bytes, a size class (TestEntry_SizeClass).
type entry struct {
	key      string
	issuer   Issuer
	cur      atomic.Pointer[Generation]
	old      *older        // superseded, still valid, newest first; nil before the first rotation
	nextMint time.Duration // since the Scheduler's epoch
	due      time.Duration // since the epoch: min(nextMint, earliest old expiry)
	index    int32         // in queue; -1 when not
	failures int32
	removed  atomic.Bool // set by Remove (under mu); read lock-free by Handle.Current
	frozen   bool        // no mints; the current generation stays current
}

// older is one of an entry's superseded generations in a list: 8 bytes in
// the entry, where a slice is 24, and nothing until the first rotation.
type older struct {
	g    *Generation
	next *older // the one superseded before g
}

// since is t as an offset from the epoch (saturated, as time.Time.Sub).
func (s *Scheduler) since(t time.Time) time.Duration { return t.Sub(s.epoch) }

// at is the time of an offset from the epoch.
func (s *Scheduler) at(d time.Duration) time.Time { return s.epoch.Add(d) }

// get returns key's entry, or nil.
func (s *Scheduler) get(key string) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entries[key]
}

// New returns a Scheduler. Call Run to start it.
func New(opts Options) (*Scheduler, error) {
	if opts.Interval == 0 {
		opts.Interval = time.Hour
	}
	if opts.Lifetime == 0 {
		opts.Lifetime = 6 * time.Hour
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = time.Minute
	}
	if opts.Interval < 0 || opts.Lifetime < 0 || opts.MinBackoff < 0 || opts.MaxBackoff < opts.MinBackoff {
		return nil, errors.New("refresher: negative interval, lifetime or backoff")
	}
	if opts.Interval >= opts.Lifetime {
		return nil, fmt.Errorf("refresher: interval %v must be shorter than lifetime %v, or credentials would expire before the next generation", opts.Interval, opts.Lifetime)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Scheduler{opts: opts, log: opts.Logger, epoch: opts.Now(), entries: map[string]*entry{}, wake: make(chan struct{}, 1)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.metrics = newMetrics(opts.Registerer)
	return s, nil
}

// Add starts keeping credentials under key, minted by iss. The first mint
// happens as soon as Run gets to it. Adding a key twice is a no-op. A nil
// iss panics.
func (s *Scheduler) Add(key string, iss Issuer) {
	if iss == nil {
		panic("refresher: Add with a nil Issuer")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.entries[key]; ok {
		return
	}
	e := &entry{key: key, issuer: iss, nextMint: s.since(s.opts.Now())}
	e.due = e.nextMint
	s.entries[key] = e
	heap.Push(&s.queue, e)
	s.poke()
}

// Ensure returns key's current generation. If key is not kept yet, it
// keeps it as Add does, but mints the first generation at once in the
// caller's goroutine (bounded by ctx), emits its events and returns it;
// Run rotates it from then on. This is for credentials minted on first
// use. If another Ensure is minting key's first generation, it waits for
// that one (or for ctx). A failed first mint returns its error after
// emitting EventMintFailed; the entry stays, and Run retries it after the
// backoff, as after any failed mint (meanwhile Ensure returns
// ErrNoGeneration). A nil iss panics.
func (s *Scheduler) Ensure(ctx context.Context, key string, iss Issuer) (*Generation, error) {
	if iss == nil {
		panic("refresher: Ensure with a nil Issuer")
	}
	if g := s.Current(key); g != nil {
		return g, nil
	}
	s.mu.Lock()
	if e := s.entries[key]; e != nil {
		first := s.firsts[e]
		s.mu.Unlock()
		if first != nil {
			select {
			case <-first:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if g := e.cur.Load(); g != nil {
			return g, nil
		}
		return nil, fmt.Errorf("%w for %q", ErrNoGeneration, key)
	}
	now := s.opts.Now()
	// Parked while the caller mints, as runDue parks an entry it mints.
	e := &entry{key: key, issuer: iss, nextMint: s.since(now), due: s.since(now.Add(s.opts.MaxBackoff))}
	s.entries[key] = e
	heap.Push(&s.queue, e)
	first := make(chan struct{})
	if s.firsts == nil {
		s.firsts = map[*entry]chan struct{}{}
	}
	s.firsts[e] = first
	s.mu.Unlock()

	err := s.mint(ctx, e, now)
	s.mu.Lock()
	close(first)
	delete(s.firsts, e)
	s.mu.Unlock()
	s.poke() // Run may be waiting for a time later than e's next mint
	switch g := e.cur.Load(); {
	case err != nil:
		return nil, err
	case g == nil: // removed while minting
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, key)
	default:
		return g, nil
	}
}

// Remove stops keeping credentials under key and forgets its generations.
func (s *Scheduler) Remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[key]
	if e == nil {
		return
	}
	delete(s.entries, key)
	e.removed.Store(true)
	if e.index >= 0 {
		heap.Remove(&s.queue, int(e.index))
	}
}

// Current returns key's newest generation, or nil before the first mint or
// for an unknown key. It does not wait for a mint.
func (s *Scheduler) Current(key string) *Generation {
	e := s.get(key)
	if e == nil {
		return nil
	}
	return e.cur.Load()
}

// Handle is one key's entry, for a caller that asks for its generation
// on every request: Handle.Current is one atomic load, where
// Scheduler.Current looks the key up among every entry. The zero Handle
// is of no entry.
type Handle struct{ e *entry }

// Handle returns key's entry, or the zero Handle for an unknown key.
func (s *Scheduler) Handle(key string) Handle {
	return Handle{s.get(key)}
}

// Current returns the entry's newest generation, nil before the first
// mint. ok is false for the zero Handle and once the key has been removed;
// it stays false if the key is added again, which makes a new entry: take
// a new Handle then.
func (h Handle) Current() (g *Generation, ok bool) {
	if h.e == nil || h.e.removed.Load() {
		return nil, false
	}
	return h.e.cur.Load(), true
}

// Generations returns every still-valid generation of key, newest first.
func (s *Scheduler) Generations(key string) []Generation {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[key]
	if e == nil {
		return nil
	}
	var out []Generation
	if g := e.cur.Load(); g != nil {
		out = append(out, *g)
	}
	for o := e.old; o != nil; o = o.next {
		out = append(out, *o.g)
	}
	return out
}

// RotateNow makes key's next generation due immediately. It fails with
// ErrFrozen while the entry's rotation is frozen.
func (s *Scheduler) RotateNow(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[key]
	if e == nil {
		return fmt.Errorf("%w %q", ErrUnknownKey, key)
	}
	if e.frozen {
		return fmt.Errorf("%w for %q; unfreeze it first", ErrFrozen, key)
	}
	e.nextMint = s.since(s.opts.Now())
	e.failures = 0
	s.reschedule(e)
	s.poke()
	return nil
}

// Freeze stops (frozen=true) or resumes (false) the rotation of key.
// A frozen entry mints nothing: its current generation stays current, and
// is served, until after its own expiry, which is the point: it lets a test
// watch what clients do as credentials run out. Superseded generations
// still expire on time. A mint already under way completes. Unfreezing
// mints at once if the next generation fell due meanwhile. Freezing a
// key that has no generation yet keeps it without one.
func (s *Scheduler) Freeze(key string, frozen bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[key]
	if e == nil {
		return fmt.Errorf("%w %q", ErrUnknownKey, key)
	}
	if e.frozen == frozen {
		return nil
	}
	e.frozen = frozen
	s.log.Info("rotation frozen", "key", key, "frozen", frozen)
	s.reschedule(e)
	s.poke()
	return nil
}

// Frozen reports whether key's rotation is frozen.
func (s *Scheduler) Frozen(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[key]
	return e != nil && e.frozen
}

// Run mints and retires generations until ctx is done, then returns nil.
func (s *Scheduler) Run(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.runDue(ctx)
		s.mu.Lock()
		wait := time.Duration(-1)
		if len(s.queue) > 0 {
			wait = max(s.queue[0].due-s.since(s.opts.Now()), 0)
		}
		s.mu.Unlock()
		var tc <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			tc = timer.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tc:
		case <-s.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	}
}

// runDue handles every entry whose due time has come.
func (s *Scheduler) runDue(ctx context.Context) {
	for ctx.Err() == nil {
		s.mu.Lock()
		now := s.opts.Now()
		sinceNow := s.since(now)
		if len(s.queue) == 0 || s.queue[0].due > sinceNow {
			s.mu.Unlock()
			return
		}
		e := s.queue[0]
		due := s.at(e.nextMint)
		var buf [4]*Generation
		expired := s.retire(e, now, buf[:0])
		mint := e.nextMint <= sinceNow && !e.frozen
		if !mint {
			s.reschedule(e)
		} else {
			// Park the entry while minting so a slow Issuer cannot
			// make Run spin on it.
			e.due = s.since(now.Add(s.opts.MaxBackoff))
			heap.Fix(&s.queue, int(e.index))
		}
		s.mu.Unlock()
		for _, g := range expired {
			s.emit(Event{Kind: EventExpired, Key: e.key, Seq: g.Seq, Credentials: g.Credentials.Public(), At: now})
		}
		if mint {
			// No runtime.Gosched between mints: a yielding goroutine
			// waits in the global run queue, which one busy processor
			// (GOMAXPROCS=1, serving requests) visits one scheduling in
			// 61, so under load mints fell seconds behind.
			_ = s.mint(ctx, e, due) // a failure is logged, emitted and retried
		}
	}
}

// retire drops e's superseded generations that have expired and appends
// them to out, oldest first. s.mu is held.
func (s *Scheduler) retire(e *entry, now time.Time, out []*Generation) []*Generation {
	// The oldest ones, up to the oldest still valid: after the last
	// still valid in the list.
	var last *older
	for o := e.old; o != nil; o = o.next {
		if o.g.Credentials.Expires.After(now) {
			last = o
		}
	}
	gone := e.old
	if last != nil {
		gone, last.next = last.next, nil
	} else {
		e.old = nil
	}
	n := len(out)
	for o := gone; o != nil; o = o.next {
		out = append(out, o.g)
	}
	slices.Reverse(out[n:]) // oldest first
	return out
}

// mint mints e's next generation, which was due at due, and returns the
// issuer's error.
func (s *Scheduler) mint(ctx context.Context, e *entry, due time.Time) error {
	creds, err := e.issuer.Issue(ctx, e.key, s.opts.Lifetime)
	now := s.opts.Now()
	s.mu.Lock()
	if e.removed.Load() {
		s.mu.Unlock()
		return err
	}
	if err != nil {
		e.failures++
		backoff := s.opts.MinBackoff << min(e.failures-1, 30)
		if backoff > s.opts.MaxBackoff || backoff <= 0 {
			backoff = s.opts.MaxBackoff
		}
		e.nextMint = s.since(now.Add(backoff))
		s.reschedule(e)
		s.mu.Unlock()
		s.metrics.rotations.WithLabelValues("error").Inc()
		s.log.Warn("mint failed; keeping current credentials", "key", e.key, "attempt", e.failures, "retry_in", backoff, "err", err)
		s.emit(Event{Kind: EventMintFailed, Key: e.key, At: now, Due: due, Err: err})
		return err
	}
	prev := e.cur.Load()
	g := &Generation{Seq: 1, Credentials: creds}
	if prev != nil {
		g.Seq = prev.Seq + 1
		e.old = &older{g: prev, next: e.old}
	}
	e.cur.Store(g)
	e.failures = 0
	e.nextMint = s.since(s.nextMint(creds, now))
	s.reschedule(e)
	s.mu.Unlock()
	s.metrics.rotations.WithLabelValues("success").Inc()
	s.metrics.lastSuccess.Set(float64(now.Unix()))
	s.log.Info("new credential generation", "key", e.key, "seq", g.Seq, "credentials", creds)
	if prev != nil {
		s.emit(Event{Kind: EventSuperseded, Key: e.key, Seq: prev.Seq, Credentials: prev.Credentials.Public(), At: now})
	}
	s.emit(Event{Kind: EventIssued, Key: e.key, Seq: g.Seq, Credentials: creds.Public(), At: now, Due: due})
	return nil
}

// nextMint is when the generation after c is due: after Interval, and never
// later than five minutes (a quarter of the lifetime, for short demo
// lifetimes) before c expires.
func (s *Scheduler) nextMint(c credential.Value, now time.Time) time.Time {
	next := now.Add(s.opts.Interval)
	life := c.Expires.Sub(now)
	lead := min(5*time.Minute, life/4)
	if latest := c.Expires.Add(-lead); next.After(latest) {
		next = latest
	}
	return next
}

// frozenDue stands in for "never" as the mint time of a frozen entry.
const frozenDue = 100 * 365 * 24 * time.Hour

// reschedule recomputes e's due time and fixes its place. s.mu is held.
func (s *Scheduler) reschedule(e *entry) {
	e.due = e.nextMint
	if e.frozen {
		e.due = s.since(s.opts.Now().Add(frozenDue))
	}
	if o := e.old; o != nil {
		for o.next != nil {
			o = o.next
		}
		e.due = min(e.due, s.since(o.g.Credentials.Expires)) // the oldest's
	}
	if e.index >= 0 && !e.removed.Load() {
		heap.Fix(&s.queue, int(e.index))
	}
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Scheduler) emit(ev Event) {
	if s.opts.OnEvent != nil {
		s.opts.OnEvent(ev)
	}
}

// queue is a min-heap of entries by due time.
type queue []*entry

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].due < q[j].due }
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = int32(i)
	q[j].index = int32(j)
}
func (q *queue) Push(x any) {
	e := x.(*entry)
	e.index = int32(len(*q))
	*q = append(*q, e)
}
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*q = old[:len(old)-1]
	return e
}

type metrics struct {
	rotations   *prometheus.CounterVec
	lastSuccess prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		rotations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imdsemu_refresher_rotations_total",
			Help: "Credential mints by result (success, error).",
		}, []string{"result"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "imdsemu_refresher_last_success_timestamp_seconds",
			Help: "Unix time of the last successful mint.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.rotations, m.lastSuccess)
	}
	return m
}
