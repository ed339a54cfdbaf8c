package credprovider

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// JavaV2Release names the aws-sdk-java-v2 source a [JavaV2] follows.
type JavaV2Release string

// JavaV2_20 follows aws-sdk-java-v2 2.20.x (2023): InstanceProfileCredentialsProvider
// building a CachedSupplier with StaleValueBehavior.ALLOW, OneCallerBlocks
// or, with asyncCredentialUpdateEnabled(true), NonBlocking; staleTime =
// Expiration - 1 s, prefetchTime = now + max(½ of the time left, 5 min),
// none for an expired document; a failed refresh throws
// SdkClientException("Failed to load credentials from IMDS."), which
// CachedSupplier turns into the cached value. (The 2.21+ static-stability
// rewrite, staleTime null and min(½, 5 min), is not this release.)
const JavaV2_20 JavaV2Release = "2.20"

// JavaV2Releases lists the modelled releases, newest first.
var JavaV2Releases = []JavaV2Release{JavaV2_20}

// Constants of Java v2's InstanceProfileCredentialsProvider, CachedSupplier
// and NonBlocking (2.20.x).
const (
	// JavaV2StaleBefore: staleTime = expiration.minusSeconds(1).
	JavaV2StaleBefore = time.Second
	// JavaV2MinPrefetch: prefetchTime = now + max(timeUntilExpiration / 2,
	// Duration.ofMinutes(5)).
	JavaV2MinPrefetch = 5 * time.Minute
	// JavaV2NoExpiryPrefetch: a document without Expiration is prefetched
	// in 60 minutes.
	JavaV2NoExpiryPrefetch = time.Hour
	// JavaV2BlockingWait is CachedSupplier's BLOCKING_REFRESH_MAX_WAIT.
	JavaV2BlockingWait = 5 * time.Second
	// javaV2MinRefresh is NonBlocking's minimumRefreshFrequency (60 s).
	javaV2MinRefresh = 60 * time.Second
)

// JavaV2Options configures a [JavaV2].
type JavaV2Options struct {
	// Release is the source followed. Default JavaV2_20.
	Release JavaV2Release
	// Async is asyncCredentialUpdateEnabled(true): NonBlocking prefetch
	// in the background; callers block only on stale credentials.
	Async bool
	ModelOptions
}

// v2Value is CachedSupplier's RefreshResult.
type v2Value struct {
	creds    aws.Credentials
	stale    time.Time // zero: never stale
	prefetch time.Time // zero: no prefetch
	extended bool      // stale time pushed out (expired document or failures)
	source   string    // of a call served from the cache before the next deadline
}

// JavaV2 models the AWS SDK for Java v2 InstanceProfileCredentialsProvider
// with CachedSupplier, as of a named [JavaV2Release]:
//
//   - refresh window: prefetch at now + max(½ of the time left, 5 min),
//     jittered uniformly up to one minute before the stale time; stale at
//     expiry − 1 s;
//   - sync (OneCallerBlocks): at the prefetch time one caller refreshes and
//     the others get the cached value; at the stale time every caller
//     blocks (waiting up to 5 s for the refresh lock);
//   - async (NonBlocking): after each fetch a background refresh is
//     scheduled between max(prefetch, now + 60 s) and min(prefetch + 1 h,
//     stale − 1 min); a caller past the prefetch time starts one and
//     never waits; callers block only on stale credentials;
//   - IMDS down: StaleValueBehavior.ALLOW serves the cached value, past its
//     stale time too, pushing the stale time out by 1 ms-min(100 ms ×
//     2^(n−1), 10 s) after the n-th consecutive failure;
//   - an already-expired document is accepted with its stale time pushed
//     to now + 1-10 min and no prefetch;
//   - transport: a token PUT per refresh (TTL 21600), used for the listing
//     and the document; IMDSv1 on any failure but a 400; no retries; 1 s
//     timeouts.
//
// JavaV2 is safe for concurrent use; Close stops its background work.
type JavaV2 struct {
	opts JavaV2Options
	imds *javaIMDS
	log  *slog.Logger

	cached     atomic.Pointer[v2Value] // stored only by store
	due        atomic.Bool             // a deadline of the cached value passed: check the clock
	gen        uint64                  // of the cached value, under mu
	lock       chan struct{}           // refreshLock, a semaphore for tryLock(5 s)
	prefetchng atomic.Bool             // OneCallerBlocks / NonBlocking currentlyPrefetching
	failures   atomic.Int32            // consecutiveStaleRetrievalFailures

	mu     sync.Mutex
	timer  *time.Timer // NonBlocking's scheduled refresh
	alarm  *time.Timer // sets due at the cached value's next deadline
	closed bool
	life   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // background refreshes
}

var _ Observed = (*JavaV2)(nil)

// NewJavaV2 returns a JavaV2. It fetches nothing until the first Retrieve.
func NewJavaV2(optFns ...func(*JavaV2Options)) *JavaV2 {
	var o JavaV2Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Release == "" {
		o.Release = JavaV2_20
	}
	o.defaults(JavaV2Timeout, JavaV2Timeout)
	p := &JavaV2{opts: o, log: o.Logger, lock: make(chan struct{}, 1),
		imds: newJavaIMDS(o.Endpoint, o.Getenv, o.Client, javaV2TokenUnsupported, true)}
	p.life, p.cancel = context.WithCancel(context.Background())
	return p
}

// Release is the release the provider follows.
func (p *JavaV2) Release() JavaV2Release { return p.opts.Release }

// Retrieve is resolveCredentials, CachedSupplier.get.
func (p *JavaV2) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, _, err := p.RetrieveOutcome(ctx)
	return c, err
}

// RetrieveOutcome is Retrieve, also saying where the credentials came from.
func (p *JavaV2) RetrieveOutcome(ctx context.Context) (aws.Credentials, Outcome, error) {
	v := p.cached.Load()
	if v != nil && !p.due.Load() {
		// Between deadlines: no clock read, no lock, no allocation.
		return v.creds, Outcome{Source: v.source}, nil
	}
	return p.get(ctx)
}

// get is CachedSupplier.get with the clock read.
func (p *JavaV2) get(ctx context.Context) (aws.Credentials, Outcome, error) {
	now := time.Now()
	v := p.cached.Load()
	switch {
	case v == nil || isStale(v, now):
		fetched, err := p.refreshCache(ctx)
		v = p.cached.Load()
		if v == nil {
			return aws.Credentials{}, Outcome{Source: SourceFetch, Blocked: true}, err
		}
		return v.creds, Outcome{Source: sourceOf(v, fetched, time.Now()), Blocked: true}, nil
	case isPrefetch(v, now):
		if p.opts.Async {
			p.prefetchAsync()
			break
		}
		// OneCallerBlocks: only the caller that wins runs the refresh.
		if p.prefetchng.CompareAndSwap(false, true) {
			fetched, _ := p.refreshCache(ctx)
			p.prefetchng.Store(false)
			v = p.cached.Load()
			return v.creds, Outcome{Source: sourceOf(v, fetched, time.Now()), Blocked: true}, nil
		}
	}
	return v.creds, Outcome{Source: sourceOf(v, false, now)}, nil
}

func sourceOf(v *v2Value, fetched bool, now time.Time) string {
	switch {
	case fetched:
		return SourceFetch
	case v.extended || (v.creds.CanExpire && !now.Before(v.creds.Expires)):
		return SourceStale
	}
	return SourceCache
}

func isStale(v *v2Value, now time.Time) bool { return !v.stale.IsZero() && !now.Before(v.stale) }

func isPrefetch(v *v2Value, now time.Time) bool {
	return !v.prefetch.IsZero() && !now.Before(v.prefetch)
}

// refreshCache is CachedSupplier.refreshCache: wait up to 5 s for the lock
// (and go on without it after that), re-check, fetch. It reports whether
// this call stored a fetched value; the error is returned only when there
// is nothing cached.
func (p *JavaV2) refreshCache(ctx context.Context) (bool, error) {
	t := time.NewTimer(JavaV2BlockingWait)
	locked := false
	select {
	case p.lock <- struct{}{}:
		locked = true
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		return false, ctx.Err()
	}
	t.Stop()
	if locked {
		defer func() { <-p.lock }()
	}
	now := time.Now()
	if v := p.cached.Load(); v != nil && !isStale(v, now) && !isPrefetch(v, now) {
		return false, nil
	}
	res, err := p.refreshCredentials(ctx)
	if err == nil {
		p.store(p.handleFetchedSuccess(res))
		return true, nil
	}
	return false, p.handleFetchFailure(err)
}

// refreshCredentials is the provider's supplier with CachedSupplier's
// jitteredPrefetchValueSupplier and NonBlocking.fetch around it.
func (p *JavaV2) refreshCredentials(ctx context.Context) (*v2Value, error) {
	c, err := p.imds.fetch(ctx)
	if err != nil {
		return nil, fmt.Errorf("credprovider: Java v2 %s: failed to load credentials from IMDS: %w", p.opts.Release, err)
	}
	now := time.Now()
	v := &v2Value{creds: c}
	if !c.CanExpire {
		v.prefetch = now.Add(JavaV2NoExpiryPrefetch)
	} else {
		v.stale = c.Expires.Add(-JavaV2StaleBefore)
		if left := c.Expires.Sub(now); left >= 0 {
			v.prefetch = now.Add(max(left/2, JavaV2MinPrefetch))
		}
	}
	// jitteredPrefetchValueSupplier: prefetch + [0, stale − 1 min − prefetch).
	if !v.prefetch.IsZero() && !v.stale.IsZero() {
		if span := v.stale.Add(-time.Minute).Sub(v.prefetch); span > 0 {
			v.prefetch = v.prefetch.Add(time.Duration(p.opts.Jitter(int64(span))))
		}
	}
	if p.opts.Async && !v.stale.IsZero() && !v.prefetch.IsZero() {
		p.schedule(p.refreshTime(v, now))
	}
	return v, nil
}

// handleFetchedSuccess: ALLOW pushes an already-stale value's stale time to
// now + 1-10 min.
func (p *JavaV2) handleFetchedSuccess(v *v2Value) *v2Value {
	p.failures.Store(0)
	now := time.Now()
	if v.stale.IsZero() || now.Before(v.stale) {
		return v
	}
	v.stale = now.Add(time.Minute + time.Duration(p.opts.Jitter(int64(9*time.Minute))))
	v.extended = true
	p.log.Warn("credprovider: Java v2: cached value expiration has been extended because IMDS returned a time in the past",
		"access_key_id", v.creds.AccessKeyID, "stale", v.stale)
	return v
}

// handleFetchFailure: nothing cached throws; a stale value gets its stale
// time pushed out by a jittered backoff; a fresh one is kept as is.
func (p *JavaV2) handleFetchFailure(err error) error {
	cur := p.cached.Load()
	if cur == nil {
		return err
	}
	now := time.Now()
	if isStale(cur, now) {
		n := p.failures.Add(1)
		maxJitter := min(time.Duration(int64(1)<<(n-1))*100*time.Millisecond, 10*time.Second)
		if n > 8 {
			maxJitter = 10 * time.Second
		}
		next := *cur
		next.stale = now.Add(time.Millisecond + time.Duration(p.opts.Jitter(int64(maxJitter-time.Millisecond))))
		next.extended = true
		p.store(&next)
		p.log.Warn("credprovider: Java v2: cached value expiration has been extended because calling IMDS failed",
			"access_key_id", cur.creds.AccessKeyID, "consecutive_failures", n, "err", err)
	}
	return nil
}

// store caches v and arms the alarm for its first deadline (prefetch,
// stale or expiry); until it rings Retrieve trusts the cache without
// reading the clock. A deadline is hint enough: the slow path re-checks.
func (p *JavaV2) store(v *v2Value) {
	now := time.Now()
	v.source = SourceCache
	if v.extended || (v.creds.CanExpire && !now.Before(v.creds.Expires)) {
		v.source = SourceStale
	}
	dueNow := isStale(v, now) || isPrefetch(v, now)
	var next time.Time
	for _, d := range []time.Time{v.prefetch, v.stale, v.creds.Expires} {
		if d.After(now) && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	gen := p.gen
	p.cached.Store(v)
	if p.alarm != nil {
		p.alarm.Stop()
	}
	p.due.Store(dueNow)
	if dueNow || next.IsZero() {
		return
	}
	p.alarm = time.AfterFunc(next.Sub(now), func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.gen == gen {
			p.due.Store(true)
		}
	})
}

// refreshTime is NonBlocking.getRefreshTime.
func (p *JavaV2) refreshTime(v *v2Value, now time.Time) time.Time {
	start := v.prefetch
	if minStart := now.Add(javaV2MinRefresh); start.Before(minStart) {
		start = minStart
	}
	end := start.Add(time.Hour)
	if !v.stale.After(end) {
		end = v.stale.Add(-time.Minute)
	}
	if !end.After(start) {
		return start
	}
	return start.Add(time.Duration(p.opts.Jitter(int64(end.Sub(start)))))
}

// schedule replaces the scheduled background refresh with one at at.
func (p *JavaV2) schedule(at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	p.timer = time.AfterFunc(at.Sub(time.Now()), func() {
		// The scheduled task calls cachedSupplier.get in the background.
		p.background(func(ctx context.Context) { _, _, _ = p.get(ctx) })
	})
}

// prefetchAsync is NonBlocking.prefetch: one background refresh at a time.
func (p *JavaV2) prefetchAsync() {
	if !p.prefetchng.CompareAndSwap(false, true) {
		return
	}
	p.background(func(ctx context.Context) {
		defer p.prefetchng.Store(false)
		_, _ = p.refreshCache(ctx)
	})
}

// background runs fn on an owned goroutine unless the provider is closed.
func (p *JavaV2) background(fn func(context.Context)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		fn(p.life)
	}()
}

// Close cancels the scheduled and running background refreshes and waits
// for them. It is idempotent.
func (p *JavaV2) Close() error {
	p.mu.Lock()
	p.closed = true
	if p.timer != nil {
		p.timer.Stop()
	}
	if p.alarm != nil {
		p.alarm.Stop()
	}
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	return nil
}
