package credprovider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// JavaV1Release names the aws-java-sdk-core source a [JavaV1] follows.
type JavaV1Release string

const (
	// JavaV1_11 follows aws-java-sdk-core 1.11.x as of 2019
	// (BaseCredentialsFetcher.java, "Copyright 2011-2019", commit
	// 06a2180e of aws/aws-sdk-java; InstanceProfileCredentialsProvider.java
	// of the same commit). A failed refresh throws even while the cached
	// credentials are valid (handleError rethrows every
	// SdkClientException, and every IMDS failure is one); an expired
	// document is refetched on every call and throws "The credentials
	// received have been expired"; the async thread's failure calls
	// refresh(), which drops the cached credentials.
	JavaV1_11 JavaV1Release = "1.11"

	// JavaV1_12_2024 follows the 2024 aws-java-sdk-core 1.12.x
	// BaseCredentialsFetcher ("Copyright 2011-2024"; read in the
	// IBM/ibm-cos-sdk-java fork, which carries it unchanged except for
	// package names): InstanceMetadataServiceCredentialsFetcher passes
	// allowExpiredCredentials = true, so a failed refresh keeps the cached
	// credentials, even expired ones, and the next attempt waits 50-70 s
	// (50 * 1000 + JITTER.nextInt(20 * 1000 + 1)); the async thread only
	// logs its failures (handleAsyncRefreshError).
	JavaV1_12_2024 JavaV1Release = "1.12-2024"
)

// JavaV1Releases lists the modelled releases, newest first.
var JavaV1Releases = []JavaV1Release{JavaV1_12_2024, JavaV1_11}

// Thresholds of Java v1's BaseCredentialsFetcher (both releases).
const (
	// JavaV1ExpirationThreshold: refresh when the credentials expire
	// within this (EXPIRATION_THRESHOLD = 1000 * 60 * 15).
	JavaV1ExpirationThreshold = 15 * time.Minute
	// JavaV1RefreshThreshold: refresh when the last attempt is this old
	// (REFRESH_THRESHOLD = 1000 * 60 * 60).
	JavaV1RefreshThreshold = time.Hour
	// JavaV1AsyncInterval is InstanceProfileCredentialsProvider's
	// ASYNC_REFRESH_INTERVAL_TIME_MINUTES = 1 (scheduleWithFixedDelay,
	// initial delay 0).
	JavaV1AsyncInterval = time.Minute
	// javaV1RetryMin and javaV1RetrySpread: the 2024 release retries a
	// refresh that left the credentials expiring after 50 s + [0, 20 s].
	javaV1RetryMin    = 50 * time.Second
	javaV1RetrySpread = 20*time.Second + time.Millisecond
)

// JavaV1Options configures a [JavaV1].
type JavaV1Options struct {
	// Release is the source followed. Default JavaV1_12_2024.
	Release JavaV1Release
	// Async: InstanceProfileCredentialsProvider(refreshCredentialsAsync =
	// true), a thread calling getCredentials every JavaV1AsyncInterval once
	// a caller has called it. Callers still refresh themselves when due.
	Async bool
	ModelOptions
}

// JavaV1 models the AWS SDK for Java v1 InstanceProfileCredentialsProvider
// with its InstanceMetadataServiceCredentialsFetcher, as of a named
// [JavaV1Release]:
//
//   - refresh window: a call refreshes when there are no credentials, when
//     they expire within 15 minutes, or when the last attempt is over an
//     hour old (needsToLoadCredentials); the fetch is synchronized, so
//     concurrent callers queue behind one another and re-check;
//   - async: a goroutine calls the same getCredentials every minute once a
//     caller has (shouldRefresh), and callers still refresh themselves when
//     due;
//   - transport: a token PUT (TTL 21600) before every GET, no retries,
//     IMDSv1 per request when the PUT answers neither 400 nor 5xx or times
//     out; connect 2 s, read 5 s.
//
// What a failure does depends on the release; see JavaV1_11 and
// JavaV1_12_2024. JavaV1 is safe for concurrent use; Close stops the async
// goroutine.
type JavaV1 struct {
	opts JavaV1Options
	imds *javaIMDS
	log  *slog.Logger

	fetchMu sync.Mutex // Java's synchronized fetchCredentials

	mu         sync.Mutex // Java's volatile fields
	creds      aws.Credentials
	have       bool
	expiration time.Time // zero: the document had none
	refreshAt  time.Time // 2024: credentialExpirationRefreshTime; zero: none
	lastCheck  time.Time // lastInstanceProfileCheck; zero: never
	lastFailed bool      // the last fetch failed and the cache was kept
	closed     bool
	gen        uint64      // of the state, for alarm
	alarm      *time.Timer // sets due at the next deadline

	shouldRun atomic.Bool                // the async goroutine runs getCredentials
	fast      atomic.Pointer[v1Snapshot] // what a call between deadlines returns
	due       atomic.Bool                // a deadline passed: take the slow path

	stop chan struct{}
	done chan struct{}
}

// v1Snapshot is the cached credentials and the source a call between
// deadlines reports.
type v1Snapshot struct {
	creds  aws.Credentials
	source string
}

var _ Observed = (*JavaV1)(nil)

// NewJavaV1 returns a JavaV1. With Async it starts its goroutine at once, as
// Java's constructor schedules its executor.
func NewJavaV1(optFns ...func(*JavaV1Options)) *JavaV1 {
	var o JavaV1Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Release == "" {
		o.Release = JavaV1_12_2024
	}
	o.defaults(JavaV1ConnectTimeout, JavaV1ReadTimeout)
	p := &JavaV1{opts: o, log: o.Logger, imds: newJavaIMDS(o.Endpoint, o.Getenv, o.Client, javaV1TokenUnsupported, false)}
	if o.Async {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.loop()
	}
	return p
}

// Release is the release the provider follows.
func (p *JavaV1) Release() JavaV1Release { return p.opts.Release }

// Retrieve is Java's getCredentials.
func (p *JavaV1) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, _, err := p.RetrieveOutcome(ctx)
	return c, err
}

// RetrieveOutcome is Retrieve, also saying where the credentials came from.
func (p *JavaV1) RetrieveOutcome(ctx context.Context) (aws.Credentials, Outcome, error) {
	if f := p.fast.Load(); f != nil && !p.due.Load() && (!p.opts.Async || p.shouldRun.Load()) {
		// Between deadlines: no clock read, no lock, no allocation.
		return f.creds, Outcome{Source: f.source}, nil
	}
	c, out, err := p.getCredentials(ctx)
	if err == nil && p.opts.Async {
		p.shouldRun.Store(true)
	}
	return c, out, err
}

// getCredentials is BaseCredentialsFetcher.getCredentials.
func (p *JavaV1) getCredentials(ctx context.Context) (aws.Credentials, Outcome, error) {
	out := Outcome{Source: SourceCache}
	if p.needsToLoad(time.Now()) {
		out.Blocked = true
		fetched, err := p.fetchCredentials(ctx)
		if err != nil {
			return aws.Credentials{}, out, err
		}
		if fetched {
			out.Source = SourceFetch
		}
	}
	now := time.Now()
	p.mu.Lock()
	c, exp, failed := p.creds, p.expiration, p.lastFailed
	p.mu.Unlock()
	if p.opts.Release == JavaV1_11 && !exp.IsZero() && exp.Before(now) {
		// 1.11 expired(): credentialsExpiration < now.
		return aws.Credentials{}, out, fmt.Errorf("credprovider: Java v1 %s: the credentials received have been expired (%s, expired %s)",
			p.opts.Release, c.AccessKeyID, exp.UTC().Format(time.RFC3339))
	}
	if out.Source != SourceFetch && (failed || (!exp.IsZero() && !exp.After(now))) {
		out.Source = SourceStale
	}
	return c, out, nil
}

// needsToLoad is needsToLoadCredentials.
func (p *JavaV1) needsToLoad(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.needsToLoadLocked(now)
}

func (p *JavaV1) needsToLoadLocked(now time.Time) bool {
	if !p.have {
		return true
	}
	if p.opts.Release == JavaV1_11 {
		// isWithinExpirationThreshold: expiration - now < 15 min;
		// isPastRefreshThreshold: now - lastCheck > 1 h.
		return (!p.expiration.IsZero() && p.expiration.Sub(now) < JavaV1ExpirationThreshold) ||
			(!p.lastCheck.IsZero() && now.Sub(p.lastCheck) > JavaV1RefreshThreshold)
	}
	// 2024: isExpiring(): refreshAt <= now; noRecentInstanceProfileCheck():
	// lastCheck + 1 h <= now.
	return (!p.refreshAt.IsZero() && !p.refreshAt.After(now)) ||
		(!p.lastCheck.IsZero() && !p.lastCheck.Add(JavaV1RefreshThreshold).After(now))
}

// fetchCredentials is the synchronized fetchCredentials with handleError:
// it reports whether it fetched, and an error when Java throws.
func (p *JavaV1) fetchCredentials(ctx context.Context) (bool, error) {
	p.fetchMu.Lock()
	defer p.fetchMu.Unlock()
	now := time.Now()
	p.mu.Lock()
	if !p.needsToLoadLocked(now) {
		p.mu.Unlock()
		return false, nil
	}
	p.lastCheck = now
	p.mu.Unlock()

	c, err := p.imds.fetch(ctx)

	now = time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastFailed = err != nil
	if err == nil {
		p.creds, p.have = c, true
		p.expiration = time.Time{}
		if c.CanExpire {
			p.expiration = c.Expires
			p.refreshAt = c.Expires.Add(-JavaV1ExpirationThreshold)
		}
	}
	if p.opts.Release == JavaV1_12_2024 {
		// finally: allowExpiredCredentials && credentials != null &&
		// isExpiring() → try again in 50-70 s.
		if p.have && !p.refreshAt.IsZero() && !p.refreshAt.After(now) {
			wait := javaV1RetryMin + time.Duration(p.opts.Jitter(int64(javaV1RetrySpread)))
			p.refreshAt = now.Add(wait)
			if now.Add(wait).After(p.expiration.Add(-15 * time.Second)) {
				p.log.Warn("credprovider: Java v1: credential expiration has been extended due to a credential service availability issue",
					"access_key_id", p.creds.AccessKeyID, "retry_in", wait)
			}
		}
	}
	p.arm(now)
	if err == nil {
		return true, nil
	}
	return false, p.handleError(err, now)
}

// arm publishes the state for the fast path and sets the alarm for its
// next deadline: the refresh threshold of either release, the hour since
// the last attempt, expiry. p.mu is held.
func (p *JavaV1) arm(now time.Time) {
	p.gen++
	gen := p.gen
	if p.alarm != nil {
		p.alarm.Stop()
	}
	if !p.have || p.needsToLoadLocked(now) {
		p.fast.Store(nil)
		p.due.Store(true)
		return
	}
	src := SourceCache
	if p.lastFailed || (!p.expiration.IsZero() && !p.expiration.After(now)) {
		src = SourceStale
	}
	p.fast.Store(&v1Snapshot{creds: p.creds, source: src})
	p.due.Store(false)
	next := p.lastCheck.Add(JavaV1RefreshThreshold + time.Millisecond)
	for _, d := range []time.Time{p.refreshAt, p.expiration.Add(-JavaV1ExpirationThreshold), p.expiration} {
		if p.expiration.IsZero() && d != p.refreshAt {
			continue
		}
		if d.After(now) && d.Before(next) {
			next = d
		}
	}
	p.alarm = time.AfterFunc(next.Sub(now), func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.gen == gen {
			p.due.Store(true)
		}
	})
}

// handleError: whether Java throws err or logs it and keeps the cache.
// p.mu is held.
func (p *JavaV1) handleError(err error, now time.Time) error {
	wrapped := fmt.Errorf("credprovider: Java v1 %s: unable to load credentials from service endpoint: %w", p.opts.Release, err)
	switch p.opts.Release {
	case JavaV1_11:
		// Every IMDS failure is an SdkClientException, rethrown as is;
		// only a document Jackson cannot read falls back to valid
		// credentials.
		if !errors.Is(err, errParse) || !p.have || (!p.expiration.IsZero() && p.expiration.Before(now)) {
			return wrapped
		}
	default:
		// allowExpiredCredentials: throw only with nothing cached.
		if !p.have {
			return wrapped
		}
	}
	p.log.Warn("credprovider: Java v1: refresh failed; using cached credentials", "release", p.opts.Release,
		"access_key_id", p.creds.AccessKeyID, "err", err)
	return nil
}

// loop is the refresh thread: scheduleWithFixedDelay(0, 1 minute).
func (p *JavaV1) loop() {
	defer close(p.done)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		if p.shouldRun.Load() {
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-p.stop:
					cancel()
				case <-ctx.Done():
				}
			}()
			if _, _, err := p.getCredentials(ctx); err != nil {
				p.asyncError(err)
			}
			cancel()
		}
		t.Reset(JavaV1AsyncInterval)
	}
}

// asyncError is the thread's catch block.
func (p *JavaV1) asyncError(err error) {
	p.log.Warn("credprovider: Java v1: failed when refreshing credentials asynchronously", "release", p.opts.Release, "err", err)
	if p.opts.Release == JavaV1_11 {
		// handleError(t): refresh(), which sets credentials = null.
		p.mu.Lock()
		p.creds, p.have = aws.Credentials{}, false
		p.arm(time.Now())
		p.mu.Unlock()
	}
}

// Close stops the async goroutine and waits for it. It is idempotent.
func (p *JavaV1) Close() error {
	p.mu.Lock()
	closed := p.closed
	p.closed = true
	if p.alarm != nil {
		p.alarm.Stop()
	}
	p.mu.Unlock()
	if !closed && p.stop != nil {
		close(p.stop)
		<-p.done
	}
	return nil
}
