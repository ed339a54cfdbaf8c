package fault

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	rolePath = "/latest/meta-data/iam/security-credentials/demo"
	credDoc  = `{
  "Code" : "Success",
  "LastUpdated" : "2030-01-01T00:00:00Z",
  "Type" : "AWS-HMAC",
  "AccessKeyId" : "ASIAEXAMPLEEXAMPLE01",
  "SecretAccessKey" : "secret",
  "Token" : "token",
  "Expiration" : "2030-01-01T06:00:00Z"
}`
)

// backend stands in for the metadata server: the credential document at
// rolePath, "ok" everywhere else. It counts the requests it answers.
type backend struct {
	mu    sync.Mutex
	calls int
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.calls++
	b.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	if r.URL.Path == rolePath {
		io.WriteString(w, credDoc)
		return
	}
	io.WriteString(w, "ok")
}

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

// fixedClock is a settable clock.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fixedClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newInjector(t *testing.T, opts Options) *Injector {
	t.Helper()
	in, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	return in
}

func mustAdd(t *testing.T, in *Injector, r Rule) Status {
	t.Helper()
	s, err := in.Add(r)
	if err != nil {
		t.Fatalf("Add(%+v) = %v", r, err)
	}
	return s
}

func serve(h http.Handler, method, path string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = "192.0.2.10:40000"
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandler_NoRulesPassesThrough(t *testing.T) {
	in := newInjector(t, Options{})
	b := &backend{}
	rec := serve(in.Handler(b), http.MethodGet, rolePath)
	if rec.Code != 200 || rec.Body.String() != credDoc {
		t.Errorf("GET %s = %d %q, want the backend's document", rolePath, rec.Code, rec.Body)
	}
}

func TestHandler_Status(t *testing.T) {
	cases := []struct {
		name        string
		method      string
		path        string
		status      int
		contentType string
		emptyBody   bool
		allow       string
	}{
		{"403 on the token PUT is empty", http.MethodPut, "/latest/api/token", 403, "text/plain", true, ""},
		{"404 on the token PUT", http.MethodPut, "/latest/api/token", 404, "text/plain", true, ""},
		{"405 on the token PUT has Allow", http.MethodPut, "/latest/api/token", 405, "text/plain", true, "OPTIONS, PUT"},
		{"405 on a GET", http.MethodGet, rolePath, 405, "text/plain", true, "GET, HEAD"},
		{"401 on a GET is the error page", http.MethodGet, rolePath, 401, "text/html", false, ""},
		{"500", http.MethodGet, rolePath, 500, "text/html", false, ""},
		{"429", http.MethodGet, rolePath, 429, "text/html", false, ""},
		{"204 has no body", http.MethodGet, rolePath, 204, "text/plain", true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := newInjector(t, Options{})
			b := &backend{}
			mustAdd(t, in, Rule{Action: ActionStatus, Status: tc.status, Path: tc.path, Method: tc.method})
			rec := serve(in.Handler(b), tc.method, tc.path)
			if rec.Code != tc.status {
				t.Errorf("status = %d, want %d", rec.Code, tc.status)
			}
			if got := rec.Header().Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tc.contentType)
			}
			if (rec.Body.Len() == 0) != tc.emptyBody {
				t.Errorf("body = %q, want empty: %v", rec.Body, tc.emptyBody)
			}
			if !tc.emptyBody && !strings.Contains(rec.Body.String(), "<title>"+http.StatusText(tc.status)) && !strings.Contains(rec.Body.String(), http.StatusText(tc.status)) {
				t.Errorf("body = %q, want the %d error page", rec.Body, tc.status)
			}
			if got := rec.Header().Get("Allow"); got != tc.allow {
				t.Errorf("Allow = %q, want %q", got, tc.allow)
			}
			if rec.Header().Get("Server") != "EC2ws" {
				t.Errorf("Server = %q, want EC2ws", rec.Header().Get("Server"))
			}
			if b.count() != 0 {
				t.Errorf("backend answered %d requests, want 0", b.count())
			}
		})
	}
}

func TestHandler_Matchers(t *testing.T) {
	type req struct {
		method, path, remote string
		token                bool
	}
	get := req{http.MethodGet, rolePath, "192.0.2.10:1", false}
	cases := []struct {
		name string
		rule Rule
		req  req
		hit  bool
	}{
		{"path prefix hit", Rule{Path: "/latest/meta-data/iam/"}, get, true},
		{"path prefix miss", Rule{Path: "/latest/api/token"}, get, false},
		{"method hit", Rule{Method: "get"}, get, true},
		{"method miss", Rule{Method: "PUT"}, get, false},
		{"v1 hit", Rule{Version: VersionV1}, get, true},
		{"v1 miss with a token", Rule{Version: VersionV1}, req{http.MethodGet, rolePath, "192.0.2.10:1", true}, false},
		{"v2 hit with a token", Rule{Version: VersionV2}, req{http.MethodGet, rolePath, "192.0.2.10:1", true}, true},
		{"v2 hit on the token PUT", Rule{Version: VersionV2}, req{http.MethodPut, "/latest/api/token", "192.0.2.10:1", false}, true},
		{"v2 miss without a token", Rule{Version: VersionV2}, get, false},
		{"client prefix hit", Rule{Client: "192.0.2.0/24"}, get, true},
		{"client prefix miss", Rule{Client: "10.0.0.0/8"}, get, false},
		{"client address hit", Rule{Client: "192.0.2.10"}, get, true},
		{"client v4-in-v6 hit", Rule{Client: "192.0.2.10"}, req{http.MethodGet, rolePath, "[::ffff:192.0.2.10]:1", false}, true},
		{"client v6", Rule{Client: "::1"}, req{http.MethodGet, rolePath, "[::1]:1", false}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := newInjector(t, Options{})
			r := tc.rule
			r.Action, r.Status = ActionStatus, 418
			mustAdd(t, in, r)
			hr := httptest.NewRequest(tc.req.method, tc.req.path, nil)
			hr.RemoteAddr = tc.req.remote
			if tc.req.token {
				hr.Header.Set("X-aws-ec2-metadata-token", "t")
			}
			rec := httptest.NewRecorder()
			in.Handler(&backend{}).ServeHTTP(rec, hr)
			if hit := rec.Code == 418; hit != tc.hit {
				t.Errorf("%s %s from %s: fault applied = %v, want %v", tc.req.method, tc.req.path, tc.req.remote, hit, tc.hit)
			}
		})
	}
}

func TestHandler_Frequency(t *testing.T) {
	const n = 10
	cases := []struct {
		name string
		rule Rule
		rand []float64
		want string // one character per request: F fired, . passed
		left bool   // rule still listed after n requests
	}{
		{"always", Rule{}, nil, "FFFFFFFFFF", true},
		{"times 3", Rule{Times: 3}, nil, "FFF.......", false},
		{"first 4", Rule{First: 4}, nil, "FFFF......", false},
		{"every 3", Rule{Every: 3}, nil, "..F..F..F.", true},
		{"every 2 of the first 6", Rule{Every: 2, First: 6}, nil, ".F.F.F....", false},
		{"every 2, times 2", Rule{Every: 2, Times: 2}, nil, ".F.F......", false},
		{"probability", Rule{Probability: prob(0.5)}, []float64{0.1, 0.9, 0.4, 0.5, 0.6, 0.2, 0.99, 0, 0.7, 0.3}, "F.F..F.F.F", true},
		{"probability with times", Rule{Probability: prob(0.5), Times: 2}, []float64{0.9, 0.1, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, ".F.F......", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			i := 0
			in := newInjector(t, Options{Rand: func() float64 {
				mu.Lock()
				defer mu.Unlock()
				v := tc.rand[i%len(tc.rand)]
				i++
				return v
			}})
			r := tc.rule
			r.Action, r.Status = ActionStatus, 500
			st := mustAdd(t, in, r)
			h := in.Handler(&backend{})
			var got strings.Builder
			for range n {
				if serve(h, http.MethodGet, "/latest/meta-data/").Code == 500 {
					got.WriteByte('F')
				} else {
					got.WriteByte('.')
				}
			}
			if got.String() != tc.want {
				t.Errorf("requests = %s, want %s", got.String(), tc.want)
			}
			_, listed := in.Rule(st.ID)
			if listed != tc.left {
				t.Errorf("rule listed after %d requests = %v, want %v", n, listed, tc.left)
			}
		})
	}
}

func TestHandler_ForEnds(t *testing.T) {
	clk := &fixedClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	in := newInjector(t, Options{Now: clk.now})
	st := mustAdd(t, in, Rule{Action: ActionStatus, Status: 500, For: Duration(30 * time.Second)})
	if st.Ends == nil || !st.Ends.Equal(clk.now().Add(30*time.Second)) {
		t.Errorf("Ends = %v, want added + 30s", st.Ends)
	}
	h := in.Handler(&backend{})
	if c := serve(h, http.MethodGet, "/").Code; c != 500 {
		t.Fatalf("before 30s: %d, want 500", c)
	}
	clk.add(30 * time.Second)
	if c := serve(h, http.MethodGet, "/").Code; c != 200 {
		t.Errorf("after 30s: %d, want 200", c)
	}
	if len(in.Rules()) != 0 {
		t.Errorf("Rules() = %v, want none after For", in.Rules())
	}
	if in.rules.Load() != nil {
		t.Errorf("rule list not nil after the last rule ended: the fast path is lost")
	}
}

func TestHandler_Latency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		mustAdd(t, in, Rule{Action: ActionLatency, Delay: Duration(2 * time.Second), Path: "/latest/api/token"})
		mustAdd(t, in, Rule{Action: ActionLatency, Delay: Duration(time.Second)})
		h := in.Handler(&backend{})
		start := time.Now()
		rec := serve(h, http.MethodPut, "/latest/api/token")
		if took := time.Since(start); took != 3*time.Second {
			t.Errorf("token PUT took %v, want 3s (both delays)", took)
		}
		if rec.Code != 200 || rec.Body.String() != "ok" {
			t.Errorf("after the delay: %d %q, want the backend's answer", rec.Code, rec.Body)
		}
		start = time.Now()
		serve(h, http.MethodGet, "/latest/meta-data/")
		if took := time.Since(start); took != time.Second {
			t.Errorf("GET took %v, want 1s", took)
		}
	})
}

func TestHandler_LatencyEndsWithClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		mustAdd(t, in, Rule{Action: ActionLatency, Delay: Duration(time.Hour)})
		b := &backend{}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		ctx, cancel := context.WithCancel(req.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() {
				if v := recover(); v != http.ErrAbortHandler {
					t.Errorf("handler ended with %v, want the http.ErrAbortHandler panic", v)
				}
			}()
			in.Handler(b).ServeHTTP(httptest.NewRecorder(), req.WithContext(ctx))
		}()
		time.Sleep(time.Second)
		cancel()
		<-done
		if b.count() != 0 {
			t.Errorf("backend answered after the client gave up")
		}
	})
}

func TestHandler_Rewrite(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	type doc struct {
		Code, AccessKeyId, Expiration string
	}
	cases := []struct {
		name  string
		rule  Rule
		check func(t *testing.T, body string)
	}{
		{"expired", Rule{Action: ActionExpired}, func(t *testing.T, body string) {
			var d doc
			if err := json.Unmarshal([]byte(body), &d); err != nil {
				t.Fatal(err)
			}
			if d.Expiration != "2030-01-01T11:59:00Z" || d.Code != "Success" || d.AccessKeyId != "ASIAEXAMPLEEXAMPLE01" {
				t.Errorf("document = %+v, want Expiration a minute ago and the rest unchanged", d)
			}
		}},
		{"expiring", Rule{Action: ActionExpiring, ExpiresIn: Duration(90 * time.Second)}, func(t *testing.T, body string) {
			var d doc
			if err := json.Unmarshal([]byte(body), &d); err != nil {
				t.Fatal(err)
			}
			if d.Expiration != "2030-01-01T12:01:30Z" {
				t.Errorf("Expiration = %s, want 2030-01-01T12:01:30Z", d.Expiration)
			}
			if !strings.Contains(body, `"Expiration" : "`) {
				t.Errorf("layout changed: %s", body)
			}
		}},
		{"truncated", Rule{Action: ActionMalformed}, func(t *testing.T, body string) {
			if body != credDoc[:len(credDoc)/2] {
				t.Errorf("body = %q, want the first half", body)
			}
		}},
		{"missing code", Rule{Action: ActionMalformed, Body: BodyMissingCode}, func(t *testing.T, body string) {
			var m map[string]any
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatal(err)
			}
			if _, ok := m["Code"]; ok || m["AccessKeyId"] != "ASIAEXAMPLEEXAMPLE01" {
				t.Errorf("document = %v, want no Code and the rest", m)
			}
		}},
		{"wrong types", Rule{Action: ActionMalformed, Body: BodyWrongTypes}, func(t *testing.T, body string) {
			var m map[string]any
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatal(err)
			}
			if _, ok := m["Expiration"].(float64); !ok {
				t.Errorf("Expiration = %v, want a number", m["Expiration"])
			}
			if _, ok := m["AccessKeyId"].(float64); !ok {
				t.Errorf("AccessKeyId = %v, want a number", m["AccessKeyId"])
			}
		}},
		{"not json", Rule{Action: ActionMalformed, Body: BodyNotJSON}, func(t *testing.T, body string) {
			if !strings.HasPrefix(body, "<?xml") {
				t.Errorf("body = %q, want an HTML page", body)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := newInjector(t, Options{Now: func() time.Time { return now }})
			mustAdd(t, in, tc.rule)
			h := in.Handler(&backend{})
			rec := serve(h, http.MethodGet, rolePath)
			if rec.Code != 200 {
				t.Fatalf("status = %d, want 200", rec.Code)
			}
			if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(rec.Body.Len()) {
				t.Errorf("Content-Length = %s, body has %d bytes", cl, rec.Body.Len())
			}
			tc.check(t, rec.Body.String())
			// The listing is not a document: it passes unchanged.
			if rec := serve(h, http.MethodGet, "/latest/meta-data/iam/security-credentials/"); rec.Body.String() != "ok" {
				t.Errorf("listing = %q, want unchanged", rec.Body)
			}
		})
	}
}

func TestHandler_OnFireAndMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	var got []Fired
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	in := newInjector(t, Options{Registerer: reg, Now: func() time.Time { return now }, OnFire: func(f Fired) { got = append(got, f) }})
	st := mustAdd(t, in, Rule{Action: ActionStatus, Status: 500, Name: "boom", Times: 2})
	h := in.Handler(&backend{})
	for range 3 {
		serve(h, http.MethodGet, "/latest/meta-data/")
	}
	want := Fired{RuleID: st.ID, Name: "boom", Action: ActionStatus, Method: "GET", Path: "/latest/meta-data/", Client: "192.0.2.10", At: now}
	if len(got) != 2 || got[0] != want {
		t.Errorf("OnFire got %+v, want twice %+v", got, want)
	}
	if v := testutil.ToFloat64(in.metrics.firedTotal.WithLabelValues("status")); v != 2 {
		t.Errorf("imdsemu_faults_fired_total{action=status} = %v, want 2", v)
	}
	if n, err := testutil.GatherAndCount(reg, "imdsemu_faults_fired_total"); err != nil || n != len(Actions()) {
		t.Errorf("fired_total series = %d (%v), want one per action", n, err)
	}
}

func TestInjector_AddRemoveClear(t *testing.T) {
	in := newInjector(t, Options{})
	a := mustAdd(t, in, Rule{Action: ActionReset})
	b := mustAdd(t, in, Rule{Action: ActionStatus, Status: 500})
	if a.ID == b.ID || a.ID == "" {
		t.Errorf("IDs %q, %q: want distinct and non-empty", a.ID, b.ID)
	}
	if _, err := in.Add(Rule{Action: "nope"}); err == nil {
		t.Errorf("Add(bad rule) = nil error")
	}
	if len(in.Rules()) != 2 {
		t.Errorf("Rules() has %d, want 2 (a bad rule changes nothing)", len(in.Rules()))
	}
	if err := in.Remove(a.ID); err != nil {
		t.Errorf("Remove(%s) = %v", a.ID, err)
	}
	if err := in.Remove(a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove twice = %v, want ErrNotFound", err)
	}
	if n := in.Clear(); n != 1 {
		t.Errorf("Clear() = %d, want 1", n)
	}
	if in.rules.Load() != nil {
		t.Errorf("rules not nil after Clear")
	}
	in.Close()
	if _, err := in.Add(Rule{Action: ActionReset}); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
}

// startServer serves h on a loopback listener wrapped by in.
func startServer(t *testing.T, in *Injector, h http.Handler) (*Listener, *http.Server) {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := in.Listener(raw)
	srv := &http.Server{Handler: in.Handler(h), ConnState: ln.ConnState}
	srv.RegisterOnShutdown(in.Close)
	done := make(chan struct{})
	go func() {
		srv.Serve(ln)
		close(done)
	}()
	t.Cleanup(func() {
		srv.Close()
		in.Close()
		<-done
	})
	return ln, srv
}

func rawGET(t *testing.T, addr, path string) (*bufio.Reader, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
	return bufio.NewReader(c), c
}

func TestHandler_Reset(t *testing.T) {
	in := newInjector(t, Options{})
	ln, _ := startServer(t, in, &backend{})
	mustAdd(t, in, Rule{Action: ActionReset, Times: 1})
	br, _ := rawGET(t, ln.Addr().String(), "/")
	if _, err := br.ReadByte(); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read after reset = %v, want ECONNRESET", err)
	}
	// Used up: the next request is answered.
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after the reset: %d, want 200", resp.StatusCode)
	}
}

func TestHandler_BlackholeReleasedOnRemove(t *testing.T) {
	in := newInjector(t, Options{})
	ln, _ := startServer(t, in, &backend{})
	st := mustAdd(t, in, Rule{Action: ActionBlackhole})
	br, _ := rawGET(t, ln.Addr().String(), "/")
	// Wait until the connection is held, then remove the rule: the
	// connection closes without an answer.
	waitFor(t, func() bool {
		in.mu.Lock()
		defer in.mu.Unlock()
		return len(in.held) == 1
	})
	if err := in.Remove(st.ID); err != nil {
		t.Fatal(err)
	}
	if b, err := br.ReadByte(); err != io.EOF {
		t.Errorf("read = %q, %v; want EOF and no answer", b, err)
	}
	waitFor(t, func() bool {
		in.mu.Lock()
		defer in.mu.Unlock()
		return len(in.held) == 0
	})
}

func TestHandler_BlackholeClientGivesUp(t *testing.T) {
	in := newInjector(t, Options{})
	ln, _ := startServer(t, in, &backend{})
	mustAdd(t, in, Rule{Action: ActionBlackhole, Times: 1})
	_, c := rawGET(t, ln.Addr().String(), "/")
	waitFor(t, func() bool {
		in.mu.Lock()
		defer in.mu.Unlock()
		return len(in.held) == 1
	})
	c.Close()
	waitFor(t, func() bool {
		in.mu.Lock()
		defer in.mu.Unlock()
		return len(in.held) == 0
	})
	// The rule is used up and the listener serves again.
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatalf("GET after the blackholed client gave up: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET after the blackholed client gave up = %d, want 200", resp.StatusCode)
	}
	if got := in.Rules(); len(got) != 0 {
		t.Errorf("rules after the blackhole's one time = %+v, want none", got)
	}
}

// TestHandler_LatencyOutlivesWriteTimeout: an injected delay longer than
// the server's WriteTimeout is still answered (the handler moves the
// connection's write deadline past the delay).
func TestHandler_LatencyOutlivesWriteTimeout(t *testing.T) {
	in := newInjector(t, Options{})
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: in.Handler(&backend{}), WriteTimeout: 50 * time.Millisecond}
	done := make(chan struct{})
	go func() { srv.Serve(in.Listener(raw)); close(done) }()
	defer func() { srv.Close(); <-done }()
	mustAdd(t, in, Rule{Action: ActionLatency, Delay: Duration(200 * time.Millisecond), Times: 1})
	resp, err := http.Get("http://" + raw.Addr().String() + "/")
	if err != nil {
		t.Fatalf("GET delayed past the WriteTimeout: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET delayed past the WriteTimeout = %d, want 200", resp.StatusCode)
	}
}

// waitFor waits for cond, failing after a minute rather than hanging until
// the test binary's timeout.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition still false after a minute")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestInjector_CloseReleasesHeldAndSleeping(t *testing.T) {
	in := newInjector(t, Options{})
	ln, _ := startServer(t, in, &backend{})
	mustAdd(t, in, Rule{Action: ActionBlackhole, Path: "/held"})
	slowRule := mustAdd(t, in, Rule{Action: ActionLatency, Delay: Duration(time.Hour), Path: "/slow"})
	br, _ := rawGET(t, ln.Addr().String(), "/held")
	slow := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err == nil {
			resp.Body.Close()
		}
		slow <- err
	}()
	waitFor(t, func() bool {
		in.mu.Lock()
		defer in.mu.Unlock()
		st, _ := in.Rule(slowRule.ID)
		return len(in.held) == 1 && st.Fired == 1
	})
	in.Close()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("held connection after Close: %v, want EOF", err)
	}
	// The delayed request gets no answer: its handler returned at Close.
	if err := <-slow; err == nil {
		t.Errorf("the delayed request was answered after Close")
	}
}
