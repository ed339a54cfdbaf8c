package imds_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/imdsemu/imdsemu/credential"
	"github.com/imdsemu/imdsemu/imds"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// t0 is the fixture clock's start. Tests move time with clock.Advance; none
// sleeps or reads the wall clock.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

var testKey = []byte("0123456789abcdef0123456789abcdef")

const (
	testRole            = "web-role"
	testAccessKeyID     = "ASIAEXAMPLE000000001"
	testSecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testSessionToken    = "IQoJb3JpZ2luX2VjEXAMPLE+session/token=="
)

func testAttachment() imds.Attachment {
	return imds.Attachment{
		ProfileARN: "arn:aws:iam::123456789012:instance-profile/web",
		ProfileID:  "AIPAEXAMPLE000000001",
		Role:       testRole,
		Credentials: credential.Value{
			AccessKeyID:     testAccessKeyID,
			SecretAccessKey: testSecretAccessKey,
			SessionToken:    testSessionToken,
			Issued:          t0.Add(-10 * time.Minute),
			Expires:         t0.Add(6 * time.Hour),
		},
	}
}

// clock is a settable time source, safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// source is a CredentialSource whose attachment tests can swap; nil means
// no role attached.
type source struct {
	att atomic.Pointer[imds.Attachment]
}

func (s *source) Current() (imds.Attachment, bool) {
	a := s.att.Load()
	if a == nil {
		return imds.Attachment{}, false
	}
	return *a, true
}

func (s *source) set(a *imds.Attachment) { s.att.Store(a) }

type fixture struct {
	srv   *imds.Server
	clock *clock
	src   *source
}

// newFixture builds a Server with the test key, the fixture clock and the
// test attachment; mut may change the options first.
func newFixture(t testing.TB, mut func(*imds.Options)) *fixture {
	t.Helper()
	f := &fixture{clock: newClock(t0), src: &source{}}
	a := testAttachment()
	f.src.set(&a)
	opts := imds.Options{
		Credentials: f.src,
		TokenKey:    testKey,
		Now:         f.clock.Now,
	}
	if mut != nil {
		mut(&opts)
	}
	srv, err := imds.New(opts)
	if err != nil {
		t.Fatalf("imds.New: %v", err)
	}
	f.srv = srv
	return f
}

// do sends one request through ServeHTTP. headers are name, value pairs.
// Every response must carry Server: EC2ws.
func (f *fixture) do(t testing.TB, method, path string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	return serve(t, f.srv, method, path, headers...)
}

func serve(t testing.TB, h http.Handler, method, path string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if got := w.Header().Get("Server"); got != "EC2ws" {
		t.Errorf("%s %s: Server = %q, want %q", method, path, got, "EC2ws")
	}
	return w
}

// token fetches a token with the given TTL header value and fails the test
// unless it gets one.
func (f *fixture) token(t testing.TB, ttl string) string {
	t.Helper()
	w := f.do(t, http.MethodPut, "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds", ttl)
	if w.Code != http.StatusOK {
		t.Fatalf("PUT /latest/api/token (ttl %s) = %d, want 200", ttl, w.Code)
	}
	return w.Body.String()
}

// trace records what reached a handler, for the SDK tests.
type trace struct {
	mu   sync.Mutex
	reqs []traced
}

type traced struct {
	Method, Path string
	Token        bool
	TTL          string
}

func (tr *trace) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.mu.Lock()
		tr.reqs = append(tr.reqs, traced{
			Method: r.Method,
			Path:   r.URL.Path,
			Token:  r.Header.Get("X-aws-ec2-metadata-token") != "",
			TTL:    r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"),
		})
		tr.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (tr *trace) requests() []traced {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]traced(nil), tr.reqs...)
}

func (tr *trace) String() string {
	var b strings.Builder
	for _, r := range tr.requests() {
		b.WriteString(r.Method + " " + r.Path)
		if r.Token {
			b.WriteString(" [token]")
		}
		b.WriteString("\n")
	}
	return b.String()
}
