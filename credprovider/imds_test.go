package credprovider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/google/go-cmp/cmp"
)

// credentialDocument is an IMDS credential document as EC2 serves it.
func credentialDocument(code, id string, expires time.Time) string {
	return fmt.Sprintf(`{
  "Code" : %q,
  "LastUpdated" : "2026-01-02T03:00:00Z",
  "Type" : "AWS-HMAC",
  "AccessKeyId" : %q,
  "SecretAccessKey" : %q,
  "Token" : %q,
  "Expiration" : %q
}`, code, id, secretA, tokenA, expires.UTC().Format(time.RFC3339))
}

// metadataServer is a tiny IMDS speaking the real protocol: PUT
// /latest/api/token (IMDSv2), then GETs with the token; with v1 set, the PUT
// is refused with 403 and token-less GETs are served, as with
// http-tokens=optional behind a proxy that blocks PUT.
type metadataServer struct {
	mu      sync.Mutex
	role    string
	code    string
	id      string
	expires time.Time
	v1      bool
	trace   []string
}

func (m *metadataServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.trace = append(m.trace, r.Method+" "+r.URL.Path)
	const token = "fake-imds-token"
	switch {
	case r.URL.Path == "/latest/api/token" && r.Method == http.MethodPut:
		if m.v1 {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
		io.WriteString(w, token)
		return
	case r.Method != http.MethodGet:
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	case !m.v1 && r.Header.Get("X-Aws-Ec2-Metadata-Token") != token:
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch r.URL.Path {
	case "/latest/meta-data/iam/security-credentials/":
		io.WriteString(w, m.role)
	case "/latest/meta-data/iam/security-credentials/" + m.role:
		io.WriteString(w, credentialDocument(m.code, m.id, m.expires))
	default:
		http.NotFound(w, r)
	}
}

func (m *metadataServer) requests() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.trace...)
}

// TestIMDS_SDKProtocol drives the provider, and through it the SDK's IMDS
// client, against a fake metadata service over HTTP.
func TestIMDS_SDKProtocol(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	expires := now.Add(6 * time.Hour)
	const (
		token = "PUT /latest/api/token"
		list  = "GET /latest/meta-data/iam/security-credentials/"
		doc   = "GET /latest/meta-data/iam/security-credentials/demo"
	)
	cases := map[string]struct {
		server    *metadataServer
		role      string // IMDSOptions.Role
		wantKey   string
		wantErr   string
		wantTrace []string
	}{
		"IMDSv2": {
			server:    &metadataServer{role: "demo", code: "Success", id: "ASIAONE", expires: expires},
			wantKey:   "ASIAONE",
			wantTrace: []string{token, list, doc},
		},
		"IMDSv1 fallback when the token PUT is refused": {
			server:    &metadataServer{role: "demo", code: "Success", id: "ASIAONE", expires: expires, v1: true},
			wantKey:   "ASIAONE",
			wantTrace: []string{token, list, doc},
		},
		"role given: no listing": {
			server:    &metadataServer{role: "demo", code: "Success", id: "ASIAONE", expires: expires},
			role:      "demo",
			wantKey:   "ASIAONE",
			wantTrace: []string{token, doc},
		},
		"Code other than Success": {
			server:  &metadataServer{role: "demo", code: "AssumeRoleUnauthorizedAccess", id: "ASIAONE", expires: expires},
			wantErr: `role demo: Code "AssumeRoleUnauthorizedAccess"`,
		},
		"no instance profile": {
			server:  &metadataServer{code: "Success"},
			wantErr: "lists no role",
		},
		"unknown role": {
			server:  &metadataServer{role: "demo", code: "Success", id: "ASIAONE", expires: expires},
			role:    "other",
			wantErr: "credprovider: IMDS credentials of role other",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(tc.server)
			defer srv.Close()
			p := NewIMDS(func(o *IMDSOptions) {
				o.Endpoint = srv.URL + "/"
				o.Role = tc.role
				o.Now = func() time.Time { return now }
				o.Getenv = func(string) string { return "" }
			})
			defer p.Close()
			got, err := p.Retrieve(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Retrieve = %q, %v; want error with %q", got.AccessKeyID, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), secretA) || strings.Contains(err.Error(), tokenA) {
					t.Fatal("Retrieve error contains a secret")
				}
				return
			}
			if err != nil {
				t.Fatalf("Retrieve error %v", err)
			}
			want := aws.Credentials{AccessKeyID: tc.wantKey, SecretAccessKey: secretA, SessionToken: tokenA, CanExpire: true, Expires: expires, Source: IMDSSource}
			if got != want {
				t.Errorf("Retrieve = %s expires %v, want %s expires %v (or secrets differ)", keysOf(got), got.Expires, keysOf(want), want.Expires)
			}
			if diff := cmp.Diff(tc.wantTrace, tc.server.requests()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			// Cached: the second call sends nothing.
			if _, err := p.Retrieve(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := len(tc.server.requests()); n != len(tc.wantTrace) {
				t.Errorf("after a second Retrieve %d requests, want %d (cached)", n, len(tc.wantTrace))
			}
		})
	}
}

func TestIMDS_DisabledByEnvironment(t *testing.T) {
	srv := httptest.NewServer(&metadataServer{role: "demo", code: "Success", id: "ASIAONE", expires: time.Now().Add(time.Hour)})
	defer srv.Close()
	p := NewIMDS(func(o *IMDSOptions) {
		o.Getenv = func(k string) string {
			return map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": srv.URL, "AWS_EC2_METADATA_DISABLED": "TRUE"}[k]
		}
	})
	defer p.Close()
	if _, err := p.Retrieve(context.Background()); err == nil {
		t.Error("Retrieve with AWS_EC2_METADATA_DISABLED=true succeeded")
	}
}

// fakeClient is an in-memory metadata service for the refresh tests: each
// credential fetch mints generation n+1, "ASIAGEN<n>", expiring life after
// the clock. Fetches wait for gate when it is set.
type fakeClient struct {
	now  func() time.Time
	life time.Duration

	mu    sync.Mutex
	gen   int
	fail  error
	gate  chan struct{}
	lists int
}

func (f *fakeClient) GetMetadata(ctx context.Context, in *imds.GetMetadataInput, _ ...func(*imds.Options)) (*imds.GetMetadataOutput, error) {
	f.mu.Lock()
	gate := f.gate
	if in.Path == securityCredentialsPath {
		f.lists++
		f.mu.Unlock()
		return &imds.GetMetadataOutput{Content: io.NopCloser(strings.NewReader("demo"))}, nil
	}
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	f.gen++
	doc := credentialDocument("Success", fmt.Sprintf("ASIAGEN%d", f.gen), f.now().Add(f.life))
	return &imds.GetMetadataOutput{Content: io.NopCloser(strings.NewReader(doc))}, nil
}

func (f *fakeClient) set(fn func(*fakeClient)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeClient) generations() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gen
}

// clock is a settable clock for tests outside synctest bubbles.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func retrieveKey(t *testing.T, p aws.CredentialsProvider) string {
	t.Helper()
	c, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("Retrieve error %v", err)
	}
	return c.AccessKeyID
}

// TestIMDS_SyncRefreshAtPrefetchWindow: cached until the credentials come
// within PrefetchWindow of expiry (Java v1: 15 minutes), or are MaxAge old.
func TestIMDS_SyncRefreshAtPrefetchWindow(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)}
	f := &fakeClient{now: clk.Now, life: time.Hour}
	p := NewIMDS(func(o *IMDSOptions) { o.Client, o.Now = f, clk.Now })
	defer p.Close()

	steps := []struct {
		advance time.Duration
		want    string
	}{
		{0, "ASIAGEN1"},
		{44 * time.Minute, "ASIAGEN1"},             // 16 min left
		{time.Minute, "ASIAGEN1"},                  // exactly 15 min left: not yet
		{time.Second, "ASIAGEN2"},                  // within 15 min
		{30 * time.Minute, "ASIAGEN2"},             // 30 min left
		{15*time.Minute + time.Second, "ASIAGEN3"}, // within 15 min
		{45*time.Minute - time.Second, "ASIAGEN3"}, // 15 min and 1 s left
		{2 * time.Second, "ASIAGEN4"},              // within
		{2 * time.Hour, "ASIAGEN5"},                // long expired
		{0, "ASIAGEN5"},                            // cached
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		if got := retrieveKey(t, p); got != s.want {
			t.Errorf("step %d (+%v): Retrieve = %s, want %s", i, s.advance, got, s.want)
		}
	}
	if f.lists != 5 {
		t.Errorf("role listed %d times, want 5 (once per fetch, as Java)", f.lists)
	}

	t.Run("MaxAge", func(t *testing.T) {
		clk := &clock{t: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)}
		f := &fakeClient{now: clk.Now, life: 6 * time.Hour}
		p := NewIMDS(func(o *IMDSOptions) { o.Client, o.Now = f, clk.Now })
		defer p.Close()
		retrieveKey(t, p)
		clk.Advance(time.Hour - time.Second)
		if got := retrieveKey(t, p); got != "ASIAGEN1" {
			t.Errorf("59m59s after the fetch: %s, want ASIAGEN1", got)
		}
		clk.Advance(time.Second)
		if got := retrieveKey(t, p); got != "ASIAGEN2" {
			t.Errorf("1 h after the fetch: %s, want ASIAGEN2 (Java's 60 min REFRESH_THRESHOLD)", got)
		}
	})
}

// TestIMDS_SingleflightSharesRefresh: N concurrent callers that find the
// credentials due share one fetch.
func TestIMDS_SingleflightSharesRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClient{now: time.Now, life: 20 * time.Minute, gate: make(chan struct{})}
		p := NewIMDS(func(o *IMDSOptions) { o.Client = f })
		defer p.Close()

		const n = 16
		keys := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				c, err := p.Retrieve(context.Background())
				if err != nil {
					t.Errorf("caller %d: %v", i, err)
				}
				keys[i] = c.AccessKeyID
			})
		}
		synctest.Wait() // all n callers wait for the one fetch
		if f.lists != 1 {
			t.Errorf("%d fetches started for %d concurrent callers, want 1", f.lists, n)
		}
		close(f.gate)
		wg.Wait()
		for i, k := range keys {
			if k != "ASIAGEN1" {
				t.Errorf("caller %d got %q, want ASIAGEN1", i, k)
			}
		}
		if g := f.generations(); g != 1 {
			t.Errorf("%d credential fetches, want 1", g)
		}
		if got := len(p.Fetches()); got != 1 {
			t.Errorf("Fetches() has %d entries, want 1", got)
		}
	})
}

// TestIMDS_CallerCancelDoesNotCancelSharedFetch: a caller that gives up gets
// its context's error; the fetch goes on for the others.
func TestIMDS_CallerCancelDoesNotCancelSharedFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClient{now: time.Now, life: time.Hour, gate: make(chan struct{})}
		p := NewIMDS(func(o *IMDSOptions) { o.Client = f })
		defer p.Close()

		ctx, cancel := context.WithCancel(context.Background())
		var errA error
		var keyB string
		var wg sync.WaitGroup
		wg.Go(func() { _, errA = p.Retrieve(ctx) })
		wg.Go(func() { keyB = retrieveKey(t, p) })
		synctest.Wait()
		cancel()
		synctest.Wait()
		if !errors.Is(errA, context.Canceled) {
			t.Errorf("cancelled caller: %v, want context.Canceled", errA)
		}
		close(f.gate)
		wg.Wait()
		if keyB != "ASIAGEN1" {
			t.Errorf("other caller: %q, want ASIAGEN1", keyB)
		}
	})
}

// TestIMDS_StaticStability: a failed refresh keeps returning the cached
// credentials while they are valid; after they expire it returns the error.
func TestIMDS_StaticStability(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)}
	f := &fakeClient{now: clk.Now, life: 20 * time.Minute}
	p := NewIMDS(func(o *IMDSOptions) { o.Client, o.Now = f, clk.Now })
	defer p.Close()
	retrieveKey(t, p)

	outage := errors.New("connection refused")
	f.set(func(f *fakeClient) { f.fail = outage })
	clk.Advance(6 * time.Minute) // 14 min left: due
	if got := retrieveKey(t, p); got != "ASIAGEN1" {
		t.Errorf("refresh failed, credentials valid: %s, want ASIAGEN1 (cached)", got)
	}
	clk.Advance(time.Minute - time.Second) // within RetryBackoff: no new attempt
	if got := retrieveKey(t, p); got != "ASIAGEN1" || len(p.Fetches()) != 2 {
		t.Errorf("within the retry back-off: %s after %d fetches, want ASIAGEN1 after 2", got, len(p.Fetches()))
	}
	clk.Advance(time.Second) // back-off over: tries again, fails, cached
	if got := retrieveKey(t, p); got != "ASIAGEN1" || len(p.Fetches()) != 3 {
		t.Errorf("after the retry back-off: %s after %d fetches, want ASIAGEN1 after 3", got, len(p.Fetches()))
	}
	clk.Advance(13*time.Minute - time.Second)
	if got := retrieveKey(t, p); got != "ASIAGEN1" {
		t.Errorf("1 s before expiry: %s, want ASIAGEN1 (cached)", got)
	}
	clk.Advance(time.Second) // expired: the back-off no longer applies
	if c, err := p.Retrieve(context.Background()); !errors.Is(err, outage) {
		t.Errorf("at expiry with IMDS down: %q, %v; want the fetch error", c.AccessKeyID, err)
	}
	f.set(func(f *fakeClient) { f.fail = nil })
	if got := retrieveKey(t, p); got != "ASIAGEN2" {
		t.Errorf("IMDS back: %s, want ASIAGEN2", got)
	}

	var got []string
	for _, fe := range p.Fetches() {
		s := fe.AccessKeyID
		if fe.Err != nil {
			s = "error"
		}
		got = append(got, s)
	}
	if diff := cmp.Diff([]string{"ASIAGEN1", "error", "error", "error", "error", "ASIAGEN2"}, got); diff != "" {
		t.Errorf("Fetches (-want +got):\n%s", diff)
	}
}

func TestIMDS_FetchLogBounded(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)}
	f := &fakeClient{now: clk.Now, life: time.Minute} // always within the window
	p := NewIMDS(func(o *IMDSOptions) { o.Client, o.Now, o.FetchLogSize = f, clk.Now, 3 })
	defer p.Close()
	for range 5 {
		retrieveKey(t, p)
		clk.Advance(time.Second)
	}
	var got []string
	for _, fe := range p.Fetches() {
		got = append(got, fe.AccessKeyID+"@"+fe.At.Format("05"))
		if !fe.Expires.Equal(fe.At.Add(time.Minute)) {
			t.Errorf("fetch %s: Expires %v, want %v", fe.AccessKeyID, fe.Expires, fe.At.Add(time.Minute))
		}
	}
	if diff := cmp.Diff([]string{"ASIAGEN3@02", "ASIAGEN4@03", "ASIAGEN5@04"}, got); diff != "" {
		t.Errorf("Fetches (-want +got):\n%s", diff)
	}
}

// TestIMDS_Async: the goroutine refreshes on its timer, Retrieve never
// waits after the first fetch, and Close stops the goroutine.
func TestIMDS_Async(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		f := &fakeClient{now: time.Now, life: 20 * time.Minute}
		p := NewIMDS(func(o *IMDSOptions) { o.Client, o.Mode = f, RefreshAsync })
		if p.Mode() != RefreshAsync {
			t.Fatalf("Mode = %v", p.Mode())
		}
		if got := retrieveKey(t, p); got != "ASIAGEN1" { // the first call fetches
			t.Fatalf("first Retrieve = %s, want ASIAGEN1", got)
		}

		time.Sleep(4*time.Minute + time.Second) // polls at 1..4 min: 16 min or more left
		if g := f.generations(); g != 1 {
			t.Errorf("after 4 min %d fetches, want 1", g)
		}
		time.Sleep(2 * time.Minute) // the poll at 6 min finds 14 min left
		synctest.Wait()
		if g := f.generations(); g != 2 {
			t.Errorf("after 6 min %d fetches, want 2", g)
		}
		if got := retrieveKey(t, p); got != "ASIAGEN2" {
			t.Errorf("Retrieve after the background refresh = %s, want ASIAGEN2", got)
		}
		fetches := p.Fetches()
		if len(fetches) != 2 || !fetches[1].At.Equal(start.Add(6*time.Minute)) {
			t.Errorf("Fetches = %v, want the second at +6m", fetches)
		}

		// A hanging metadata service: the poll at 12 min starts a fetch that
		// never ends, and callers still get the cached credentials at once.
		f.set(func(f *fakeClient) { f.gate = make(chan struct{}) })
		time.Sleep(6 * time.Minute)
		synctest.Wait() // the goroutine is stuck in the fetch
		before := time.Now()
		if got := retrieveKey(t, p); got != "ASIAGEN2" {
			t.Errorf("Retrieve during a hanging refresh = %s, want ASIAGEN2", got)
		}
		if waited := time.Since(before); waited != 0 {
			t.Errorf("Retrieve waited %v, want 0", waited)
		}

		// Close cancels the hanging fetch, stops the goroutine, and waits.
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if got := retrieveKey(t, p); got != "ASIAGEN2" {
			t.Errorf("Retrieve after Close, still valid = %s, want ASIAGEN2", got)
		}
		time.Sleep(time.Hour)
		if _, err := p.Retrieve(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("Retrieve after Close and expiry: %v, want ErrClosed", err)
		}
		if g := f.generations(); g != 2 {
			t.Errorf("%d fetches after Close, want 2", g)
		}
	})
}

// TestIMDS_AsyncExpired: when the background refresh failed until the
// credentials expired, Retrieve returns an error at once and nudges the
// goroutine, which fetches without waiting for its next poll.
func TestIMDS_AsyncExpired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClient{now: time.Now, life: 20 * time.Minute}
		p := NewIMDS(func(o *IMDSOptions) {
			o.Client, o.Mode, o.PollInterval = f, RefreshAsync, 10*time.Minute
		})
		defer p.Close()
		retrieveKey(t, p)
		outage := errors.New("connection refused")
		f.set(func(f *fakeClient) { f.fail = outage })
		time.Sleep(25 * time.Minute) // polls at 10 and 20 min fail; expired at 20
		_, err := p.Retrieve(context.Background())
		if !errors.Is(err, outage) || !strings.Contains(err.Error(), "ASIAGEN1 expired at") {
			t.Fatalf("Retrieve of expired credentials = %v, want an error naming the expiry and wrapping the fetch error", err)
		}
		f.set(func(f *fakeClient) { f.fail = nil })
		_, _ = p.Retrieve(context.Background()) // nudges
		synctest.Wait()
		if got := retrieveKey(t, p); got != "ASIAGEN2" {
			t.Errorf("after the nudge: %s, want ASIAGEN2 before the next poll", got)
		}
	})
}

// TestIMDS_AsyncFirstFetchFails: until a fetch succeeds, async mode fetches
// on the caller's goroutine and starts no goroutine.
func TestIMDS_AsyncFirstFetchFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClient{now: time.Now, life: 20 * time.Minute, fail: errors.New("no route")}
		p := NewIMDS(func(o *IMDSOptions) { o.Client, o.Mode = f, RefreshAsync })
		defer p.Close()
		if _, err := p.Retrieve(context.Background()); err == nil {
			t.Fatal("Retrieve succeeded with IMDS down")
		}
		f.set(func(f *fakeClient) { f.fail = nil })
		if got := retrieveKey(t, p); got != "ASIAGEN1" {
			t.Errorf("Retrieve once IMDS is up = %s, want ASIAGEN1", got)
		}
	})
}
