package credprovider

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"golang.org/x/sync/singleflight"
)

// IMDSSource is the Source of credentials from an [IMDS].
const IMDSSource = "credprovider.IMDS"

// Defaults of IMDSOptions, from Java v1's InstanceProfileCredentialsProvider
// and BaseCredentialsFetcher.
const (
	// DefaultPrefetchWindow: refresh when the credentials expire within
	// this (EXPIRATION_THRESHOLD).
	DefaultPrefetchWindow = 15 * time.Minute
	// DefaultMaxAge: refresh when the last fetch is this old, whatever the
	// expiry (REFRESH_THRESHOLD).
	DefaultMaxAge = time.Hour
	// DefaultPollInterval: how often the RefreshAsync goroutine looks
	// (ASYNC_REFRESH_INTERVAL_TIME_MINUTES).
	DefaultPollInterval = time.Minute
	// DefaultRetryBackoff: after a failed refresh, how long cached, still
	// valid credentials are served before the next attempt (the 2024
	// BaseCredentialsFetcher waits 50-70 s).
	DefaultRetryBackoff = time.Minute
	// DefaultFetchLogSize: how many fetches Fetches remembers.
	DefaultFetchLogSize = 64
)

// securityCredentialsPath is the IMDS directory of instance role
// credentials (EC2 user guide, "Retrieve security credentials from instance
// metadata"); the SDK's client prefixes /latest/meta-data/.
const securityCredentialsPath = "iam/security-credentials/"

// maxDocument caps what is read of an IMDS answer; a credential document is
// under 2 KiB.
const maxDocument = 64 << 10

// ErrClosed is returned by IMDS.Retrieve after Close once the cached
// credentials have expired.
var ErrClosed = errors.New("credprovider: IMDS provider closed")

// RefreshMode is how an IMDS provider refreshes.
type RefreshMode int

const (
	// RefreshSync: the caller that finds the credentials within the
	// prefetch window fetches new ones and waits; concurrent callers share
	// the fetch. Java's default.
	RefreshSync RefreshMode = iota
	// RefreshAsync: after the first fetch a background goroutine refreshes
	// every PollInterval when due, and Retrieve never waits. Java's
	// InstanceProfileCredentialsProvider(refreshCredentialsAsync = true).
	RefreshAsync
)

func (m RefreshMode) String() string {
	switch m {
	case RefreshSync:
		return "sync"
	case RefreshAsync:
		return "async"
	}
	return fmt.Sprintf("RefreshMode(%d)", int(m))
}

// GetMetadataAPIClient is the one call IMDS needs; *imds.Client has it.
type GetMetadataAPIClient interface {
	GetMetadata(ctx context.Context, params *imds.GetMetadataInput, optFns ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
}

// IMDSOptions configures an [IMDS]. The zero value asks the SDK's IMDS
// client at $AWS_EC2_METADATA_SERVICE_ENDPOINT (else 169.254.169.254, as
// the SDK does) and refreshes synchronously with Java v1's thresholds.
type IMDSOptions struct {
	// Client is the IMDS client. Default: imds.New with Endpoint.
	Client GetMetadataAPIClient

	// Endpoint of the metadata service, such as "http://127.0.0.1:1338/".
	// Default $AWS_EC2_METADATA_SERVICE_ENDPOINT, else the SDK's default.
	// Ignored when Client is set.
	Endpoint string

	// Role is the role whose credentials to fetch. Default: the first role
	// the metadata service lists, asked on every fetch as Java does.
	Role string

	// Mode is RefreshSync (the default) or RefreshAsync.
	Mode RefreshMode

	// PrefetchWindow: refresh when the credentials expire within this.
	// Default DefaultPrefetchWindow.
	PrefetchWindow time.Duration

	// MaxAge: refresh when the last successful fetch is this old. Default
	// DefaultMaxAge.
	MaxAge time.Duration

	// PollInterval is how often the RefreshAsync goroutine checks whether a
	// refresh is due. Default DefaultPollInterval.
	PollInterval time.Duration

	// RetryBackoff: after a failed refresh, the cached credentials are
	// served without another attempt for this long, unless they expire
	// first. Default DefaultRetryBackoff; negative: try on every call.
	RetryBackoff time.Duration

	// FetchLogSize is how many fetches Fetches keeps. Default
	// DefaultFetchLogSize.
	FetchLogSize int

	// Now is the clock. Default time.Now.
	Now func() time.Time

	// Getenv reads AWS_EC2_METADATA_SERVICE_ENDPOINT and
	// AWS_EC2_METADATA_DISABLED. Default os.Getenv.
	Getenv func(string) string

	// Logger receives a warning when a refresh fails. Default: discard.
	Logger *slog.Logger
}

// Fetch is one attempt to fetch credentials from the metadata service.
type Fetch struct {
	At          time.Time
	AccessKeyID string    // empty when Err is set
	Expires     time.Time // zero when Err is set or the document had no Expiration
	Err         error
}

// IMDS provides instance role credentials from the EC2 instance metadata
// service, like Java's InstanceProfileCredentialsProvider: it fetches
// iam/security-credentials/ (the role) and then the role's document with
// the SDK's IMDS client, caches the credentials, and refreshes them when
// they come within PrefetchWindow of expiry or are MaxAge old.
//
// A failed refresh keeps the cached credentials while they are valid
// (static stability), with no new attempt for RetryBackoff; an expired
// credential is never returned.
//
// IMDS is safe for concurrent use. Call Close when done with a RefreshAsync
// provider to stop its goroutine.
type IMDS struct {
	opts   IMDSOptions
	client GetMetadataAPIClient
	log    *slog.Logger

	life context.Context // cancelled by Close; every fetch runs under it
	stop context.CancelFunc
	sf   singleflight.Group
	wg   sync.WaitGroup // running fetches
	kick chan struct{}  // asks the async goroutine to look now

	mu        sync.Mutex
	creds     aws.Credentials
	have      bool
	fetchedAt time.Time // of creds
	lastErr   error     // of the last fetch; nil after a success
	retryAt   time.Time // after a failure: no new attempt before, while creds are valid
	fetches   []Fetch   // ring of FetchLogSize
	next      int       // ring position of the next Fetch
	started   bool      // the async goroutine was started
	closed    bool
	done      chan struct{} // closed when the async goroutine ends
}

var _ aws.CredentialsProvider = (*IMDS)(nil)

// NewIMDS returns an IMDS provider. It fetches nothing until the first
// Retrieve.
func NewIMDS(optFns ...func(*IMDSOptions)) *IMDS {
	var o IMDSOptions
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.PrefetchWindow <= 0 {
		o.PrefetchWindow = DefaultPrefetchWindow
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	switch {
	case o.RetryBackoff == 0:
		o.RetryBackoff = DefaultRetryBackoff
	case o.RetryBackoff < 0:
		o.RetryBackoff = 0
	}
	if o.FetchLogSize <= 0 {
		o.FetchLogSize = DefaultFetchLogSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p := &IMDS{opts: o, client: o.Client, log: o.Logger, kick: make(chan struct{}, 1)}
	if p.client == nil {
		cfg := imds.Options{Endpoint: o.Endpoint}
		if cfg.Endpoint == "" {
			cfg.Endpoint = o.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT")
		}
		if strings.EqualFold(o.Getenv("AWS_EC2_METADATA_DISABLED"), "true") {
			cfg.ClientEnableState = imds.ClientDisabled
		}
		p.client = imds.New(cfg)
	}
	p.life, p.stop = context.WithCancel(context.Background())
	return p
}

// Mode is the provider's refresh mode.
func (p *IMDS) Mode() RefreshMode { return p.opts.Mode }

// Retrieve returns the cached credentials, refreshing them first when they
// are within PrefetchWindow of expiry or MaxAge old.
//
// In RefreshSync mode the caller waits for the refresh (shared with
// concurrent callers); if it fails, still-valid cached credentials are
// returned, else the error. In RefreshAsync mode only the first call waits
// for a fetch; later calls return the cached credentials at once, or an
// error if they have expired (and nudge the goroutine to fetch now).
func (p *IMDS) Retrieve(ctx context.Context) (aws.Credentials, error) {
	now := p.opts.Now()
	p.mu.Lock()
	creds, have, lastErr := p.creds, p.have, p.lastErr
	due := p.dueLocked(now)
	async := p.opts.Mode == RefreshAsync && p.started
	closed := p.closed
	p.mu.Unlock()

	valid := have && !expired(creds, now)
	switch {
	case closed || async:
		if valid {
			return creds, nil
		}
		if closed {
			return aws.Credentials{}, ErrClosed
		}
		p.nudge()
		return aws.Credentials{}, expiredError(creds, lastErr)
	case !due:
		return creds, nil
	}
	fresh, err := p.refresh(ctx)
	if err == nil {
		return fresh, nil
	}
	if valid && ctx.Err() == nil {
		p.log.Warn("credprovider: IMDS refresh failed; using cached credentials until they expire",
			"access_key_id", creds.AccessKeyID, "expires", creds.Expires, "err", err)
		return creds, nil
	}
	return aws.Credentials{}, err
}

// Fetches returns the recorded fetches, oldest first.
func (p *IMDS) Fetches() []Fetch {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Fetch, 0, len(p.fetches))
	if len(p.fetches) == p.opts.FetchLogSize {
		out = append(out, p.fetches[p.next:]...)
		return append(out, p.fetches[:p.next]...)
	}
	return append(out, p.fetches...)
}

// Close stops the RefreshAsync goroutine and cancels running fetches, and
// waits for both. Afterwards Retrieve returns the cached credentials while
// they are valid and ErrClosed after. Close is idempotent.
func (p *IMDS) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	done := p.done
	p.mu.Unlock()
	p.stop()
	if done != nil {
		<-done
	}
	p.wg.Wait()
	return nil
}

// dueLocked reports whether a refresh is due. p.mu is held.
func (p *IMDS) dueLocked(now time.Time) bool {
	switch {
	case !p.have, expired(p.creds, now):
		return true
	case now.Before(p.retryAt):
		return false
	}
	if p.creds.CanExpire && p.creds.Expires.Sub(now) < p.opts.PrefetchWindow {
		return true
	}
	return now.Sub(p.fetchedAt) >= p.opts.MaxAge
}

func expired(c aws.Credentials, now time.Time) bool {
	return c.CanExpire && !now.Before(c.Expires)
}

func expiredError(c aws.Credentials, lastErr error) error {
	if lastErr != nil {
		return fmt.Errorf("credprovider: IMDS credentials %s expired at %s and the background refresh failed: %w",
			c.AccessKeyID, c.Expires.UTC().Format(time.RFC3339), lastErr)
	}
	return fmt.Errorf("credprovider: IMDS credentials %s expired at %s; the background refresh has not replaced them yet",
		c.AccessKeyID, c.Expires.UTC().Format(time.RFC3339))
}

// nudge asks the async goroutine to look now, without waiting.
func (p *IMDS) nudge() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// refresh fetches once for all concurrent callers and waits for the result
// or for ctx. The fetch runs under the provider's context, so a caller
// giving up does not cancel it for the others.
func (p *IMDS) refresh(ctx context.Context) (aws.Credentials, error) {
	ch := p.sf.DoChan("fetch", func() (any, error) {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return aws.Credentials{}, ErrClosed
		}
		p.wg.Add(1)
		p.mu.Unlock()
		defer p.wg.Done()
		return p.fetchAndStore()
	})
	select {
	case r := <-ch:
		return r.Val.(aws.Credentials), r.Err
	case <-ctx.Done():
		return aws.Credentials{}, fmt.Errorf("credprovider: IMDS refresh: %w", ctx.Err())
	}
}

// fetchAndStore fetches, records the attempt, and caches a success.
func (p *IMDS) fetchAndStore() (aws.Credentials, error) {
	creds, err := p.fetch(p.life)
	now := p.opts.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	f := Fetch{At: now, Err: err}
	if err == nil {
		f.AccessKeyID, f.Expires = creds.AccessKeyID, creds.Expires
		p.creds, p.have, p.fetchedAt, p.lastErr, p.retryAt = creds, true, now, nil, time.Time{}
		if p.opts.Mode == RefreshAsync && !p.started && !p.closed {
			p.started, p.done = true, make(chan struct{})
			go p.loop()
		}
	} else {
		p.lastErr, p.retryAt = err, now.Add(p.opts.RetryBackoff)
	}
	if len(p.fetches) < p.opts.FetchLogSize {
		p.fetches = append(p.fetches, f)
	} else {
		p.fetches[p.next] = f
	}
	p.next = (p.next + 1) % p.opts.FetchLogSize
	return creds, err
}

// loop is the RefreshAsync goroutine: every PollInterval, or when nudged,
// it refreshes if due. It ends when Close cancels p.life.
func (p *IMDS) loop() {
	defer close(p.done)
	t := time.NewTicker(p.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-p.life.Done():
			return
		case <-t.C:
		case <-p.kick:
		}
		p.mu.Lock()
		due := p.dueLocked(p.opts.Now())
		p.mu.Unlock()
		if !due {
			continue
		}
		// refresh returns when the fetch does: Close cancels p.life, which
		// the fetch runs under.
		if _, err := p.refresh(context.Background()); err != nil && p.life.Err() == nil {
			p.log.Warn("credprovider: IMDS background refresh failed; keeping cached credentials", "err", err)
		}
	}
}

// document is the IMDS credential document (EC2 user guide).
type document struct {
	Code            string
	Message         string
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	Token           string
	Expiration      time.Time
	AccountID       string `json:"AccountId"`
}

// fetch asks the metadata service for the role and then its credentials.
func (p *IMDS) fetch(ctx context.Context) (aws.Credentials, error) {
	role := p.opts.Role
	if role == "" {
		body, err := p.get(ctx, securityCredentialsPath)
		if err != nil {
			return aws.Credentials{}, fmt.Errorf("credprovider: IMDS role list: %w", err)
		}
		sc := bufio.NewScanner(strings.NewReader(body))
		for sc.Scan() && role == "" {
			role = strings.TrimSpace(sc.Text())
		}
		if role == "" {
			return aws.Credentials{}, errors.New("credprovider: IMDS lists no role: the instance has no instance profile")
		}
	}
	body, err := p.get(ctx, securityCredentialsPath+role)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("credprovider: IMDS credentials of role %s: %w", role, err)
	}
	var doc document
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		// json's messages quote no values, only positions and types.
		return aws.Credentials{}, fmt.Errorf("credprovider: IMDS credentials of role %s: bad document: %w", role, err)
	}
	// The SDKs accept only Code "Success" (ec2rolecreds: EqualFold).
	if !strings.EqualFold(doc.Code, "Success") {
		return aws.Credentials{}, fmt.Errorf("credprovider: IMDS credentials of role %s: Code %q: %s", role, doc.Code, doc.Message)
	}
	if doc.AccessKeyID == "" || doc.SecretAccessKey == "" {
		return aws.Credentials{}, fmt.Errorf("credprovider: IMDS credentials of role %s: document lacks AccessKeyId or SecretAccessKey", role)
	}
	return aws.Credentials{
		AccessKeyID:     doc.AccessKeyID,
		SecretAccessKey: doc.SecretAccessKey,
		SessionToken:    doc.Token,
		CanExpire:       !doc.Expiration.IsZero(),
		Expires:         doc.Expiration,
		AccountID:       doc.AccountID,
		Source:          IMDSSource,
	}, nil
}

func (p *IMDS) get(ctx context.Context, path string) (string, error) {
	out, err := p.client.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
	if err != nil {
		return "", err
	}
	defer out.Content.Close()
	b, err := io.ReadAll(io.LimitReader(out.Content, maxDocument))
	return string(b), err
}
