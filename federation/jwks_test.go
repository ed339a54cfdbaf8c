package federation

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// noNetworkClient is an HTTP client that fails the test if it ever dials.
func noNetworkClient(tb testing.TB) *http.Client {
	tb.Helper()
	return &http.Client{Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(_ context.Context, network, addr string) (net.Conn, error) {
			tb.Errorf("unexpected dial %s %s", network, addr)
			return nil, errors.New("dialing is not allowed in this test")
		},
	}}
}

// onlyDialing is an HTTP client that may dial addr and nothing else; any
// other dial fails the test.
func onlyDialing(tb testing.TB, addr string) *http.Client {
	tb.Helper()
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			if a != addr {
				tb.Errorf("unexpected dial %s %s (only %s is allowed)", network, a, addr)
				return nil, errors.New("dial refused by test")
			}
			return d.DialContext(ctx, network, a)
		},
	}}
}

// swappableIdP serves whichever IdP is current and counts requests.
type swappableIdP struct {
	mu        sync.Mutex
	h         http.Handler
	discovery atomic.Int32
	jwks      atomic.Int32
}

func (s *swappableIdP) set(p *IdP) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.h = p.Handler()
}

func (s *swappableIdP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, DiscoveryPath):
		s.discovery.Add(1)
	case strings.HasSuffix(r.URL.Path, JWKSPath):
		s.jwks.Add(1)
	}
	s.mu.Lock()
	h := s.h
	s.mu.Unlock()
	h.ServeHTTP(w, r)
}

// startIdPServer serves an IdP on a loopback httptest server whose URL is
// the IdP's issuer, and returns the server, the swapper and the IdP.
func startIdPServer(t *testing.T, clock *fakeClock, keyIndex int) (*httptest.Server, *swappableIdP, *IdP) {
	t.Helper()
	sw := &swappableIdP{}
	srv := httptest.NewUnstartedServer(sw)
	srv.Start()
	t.Cleanup(srv.Close)
	idp := newTestIdP(t, srv.URL, rsaKey(t, keyIndex), clock)
	sw.set(idp)
	return srv, sw, idp
}

func TestOIDCVerifier_Discovery(t *testing.T) {
	clock := newClock()
	srv, sw, idp := startIdPServer(t, clock, 0)
	v := NewOIDCVerifier(OIDCOptions{Now: clock.Now, HTTPClient: onlyDialing(t, srv.Listener.Addr().String()), CacheTTL: 10 * time.Minute})
	providers := []OIDCProvider{{URL: srv.URL, ClientIDs: []string{"app"}}}
	ctx := context.Background()

	verify := func(tok string) error {
		_, _, err := v.Verify(ctx, tok, providers)
		return err
	}
	if err := verify(mustToken(t, idp, "u", []string{"app"}, time.Hour, nil)); err != nil {
		t.Fatalf("first Verify: %v", err)
	}
	if d, j := sw.discovery.Load(), sw.jwks.Load(); d != 1 || j != 1 {
		t.Fatalf("after first Verify: %d discovery and %d JWKS fetches, want 1 and 1", d, j)
	}
	if err := verify(mustToken(t, idp, "u2", []string{"app"}, time.Hour, nil)); err != nil {
		t.Fatalf("second Verify: %v", err)
	}
	if j := sw.jwks.Load(); j != 1 {
		t.Errorf("second Verify fetched again (%d JWKS fetches), want the cached keys", j)
	}
	clock.Advance(10 * time.Minute)
	if err := verify(mustToken(t, idp, "u3", []string{"app"}, time.Hour, nil)); err != nil {
		t.Fatalf("Verify after TTL: %v", err)
	}
	if j := sw.jwks.Load(); j != 2 {
		t.Errorf("after the cache TTL: %d JWKS fetches, want 2", j)
	}
}

func TestOIDCVerifier_KeyRotation(t *testing.T) {
	clock := newClock()
	srv, sw, idp := startIdPServer(t, clock, 0)
	v := NewOIDCVerifier(OIDCOptions{Now: clock.Now, HTTPClient: onlyDialing(t, srv.Listener.Addr().String())})
	providers := []OIDCProvider{{URL: srv.URL, ClientIDs: []string{"app"}}}
	ctx := context.Background()

	if _, _, err := v.Verify(ctx, mustToken(t, idp, "u", []string{"app"}, time.Hour, nil), providers); err != nil {
		t.Fatalf("Verify before rotation: %v", err)
	}
	// The IdP rotates to a new key; the cached set does not have its kid.
	rotated := newTestIdP(t, srv.URL, rsaKey(t, 1), clock)
	sw.set(rotated)
	if _, _, err := v.Verify(ctx, mustToken(t, rotated, "u", []string{"app"}, time.Hour, nil), providers); err != nil {
		t.Fatalf("Verify after rotation: %v", err)
	}
	if j := sw.jwks.Load(); j != 2 {
		t.Errorf("rotation: %d JWKS fetches, want 2 (one re-fetch for the unknown kid)", j)
	}
	// A kid the IdP does not publish costs exactly one more fetch, then fails.
	stranger := newTestIdP(t, srv.URL, rsaKey(t, 2), clock)
	_, _, err := v.Verify(ctx, mustToken(t, stranger, "u", []string{"app"}, time.Hour, nil), providers)
	if errCode(t, err) != CodeInvalidIdentityToken || !strings.Contains(err.Error(), stranger.KeyID()) {
		t.Errorf("Verify with unknown kid = %v, want InvalidIdentityToken naming the kid", err)
	}
	if j := sw.jwks.Load(); j != 3 {
		t.Errorf("unknown kid: %d JWKS fetches, want 3 (exactly one re-fetch)", j)
	}
	// A bad signature under a known kid is not a rotation: no fetch.
	forged := signRaw(t, rsaKey(t, 2), rotated.KeyID(), "RS256", map[string]any{
		"iss": srv.URL, "sub": "u", "aud": "app", "exp": t0.Add(time.Hour).Unix()})
	if _, _, err := v.Verify(ctx, forged, providers); errCode(t, err) != CodeInvalidIdentityToken {
		t.Errorf("Verify forged = %v, want InvalidIdentityToken", err)
	}
	if j := sw.jwks.Load(); j != 3 {
		t.Errorf("bad signature with a known kid: %d JWKS fetches, want still 3", j)
	}
}

func TestOIDCVerifier_RefusesNonLoopback(t *testing.T) {
	clock := newClock()
	// A loopback server whose discovery document or redirect points away.
	var target atomic.Value // string
	target.Store("")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /away/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"issuer":"x","jwks_uri":%q}`, target.Load())
	})
	mux.HandleFunc("GET /redirect/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://192.0.2.1/.well-known/openid-configuration", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	cases := []struct {
		name, providerURL, jwksURI string
	}{
		{"documentation address", "http://192.0.2.1/", ""},
		{"instance metadata address", "http://169.254.169.254/latest", ""},
		{"public name without scheme", "idp.example.com", ""},
		{"localhost lookalike", "http://localhost.example.com", ""},
		{"decimal IP", "http://2130706433/", ""},
		{"jwks_uri away from loopback", srv.URL + "/away", "https://192.0.2.1/jwks"},
		{"jwks_uri file", srv.URL + "/away", "file:///etc/passwd"},
		{"redirect away from loopback", srv.URL + "/redirect", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target.Store(tc.jwksURI)
			iss := tc.providerURL
			if !strings.Contains(iss, "://") {
				iss = "https://" + iss
			}
			idp := newTestIdP(t, iss, rsaKey(t, 0), clock)
			v := NewOIDCVerifier(OIDCOptions{Now: clock.Now, HTTPClient: onlyDialing(t, srv.Listener.Addr().String())})
			_, _, err := v.Verify(context.Background(), mustToken(t, idp, "u", []string{"app"}, time.Hour, nil),
				[]OIDCProvider{{URL: tc.providerURL, ClientIDs: []string{"app"}}})
			if errCode(t, err) != CodeIDPCommunication || !strings.Contains(err.Error(), "loopback") {
				t.Errorf("Verify = %v, want IDPCommunicationError about loopback", err)
			}
		})
	}
}

func TestOIDCVerifier_FetchFailures(t *testing.T) {
	clock := newClock()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /down/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("GET /nojwks/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"issuer":"x"}`))
	})
	mux.HandleFunc("GET /garbage/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`<html>`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	closed := httptest.NewServer(mux)
	closedURL := closed.URL
	closed.Close()

	cases := []struct{ name, url, msg string }{
		{"500", srv.URL + "/down", "500"},
		{"no jwks_uri", srv.URL + "/nojwks", "no jwks_uri"},
		{"not JSON", srv.URL + "/garbage", "not valid JSON"},
		{"nothing listening", closedURL, "could not fetch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			idp := newTestIdP(t, tc.url, rsaKey(t, 0), clock)
			// The default client: loopback only.
			v := NewOIDCVerifier(OIDCOptions{Now: clock.Now})
			_, _, err := v.Verify(context.Background(), mustToken(t, idp, "u", []string{"app"}, time.Hour, nil),
				[]OIDCProvider{{URL: tc.url, ClientIDs: []string{"app"}}})
			if errCode(t, err) != CodeIDPCommunication || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Verify = %v, want IDPCommunicationError containing %q", err, tc.msg)
			}
		})
	}
}

func TestCheckFetchURL(t *testing.T) {
	cases := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:1339/.well-known/openid-configuration", true},
		{"http://127.9.8.7/", true},
		{"https://localhost:8443/jwks", true},
		{"http://LOCALHOST/", true},
		{"http://[::1]:1339/jwks", true},
		{"http://192.0.2.1/", false},
		{"http://169.254.169.254/latest/meta-data/", false},
		{"http://[fd00:ec2::254]/", false},
		{"http://10.0.0.1/", false},
		{"https://token.actions.githubusercontent.com/.well-known/openid-configuration", false},
		{"http://localhost.example.com/", false},
		{"http://127.0.0.1.nip.io/", false},
		{"http://0x7f000001/", false},
		{"http://user:pw@127.0.0.1/", false},
		{"ftp://127.0.0.1/", false},
		{"file:///etc/passwd", false},
		{"127.0.0.1:1339", false},
		{"://bad", false},
	}
	for _, tc := range cases {
		_, err := checkFetchURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("checkFetchURL(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("checkFetchURL(%q) error %q leaks the password", tc.url, err)
		}
	}
}

func TestLoopbackControl(t *testing.T) {
	cases := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:80", true},
		{"127.1.2.3:80", true},
		{"[::1]:443", true},
		{"192.0.2.1:80", false},
		{"169.254.169.254:80", false},
		{"[2001:db8::1]:443", false},
		{"localhost:80", false}, // Control sees resolved addresses only
		{"nonsense", false},
	}
	for _, tc := range cases {
		err := loopbackControl("tcp", tc.addr, nil)
		if (err == nil) != tc.ok {
			t.Errorf("loopbackControl(%q) = %v, want ok=%v", tc.addr, err, tc.ok)
		}
	}
}

// The default client's dialer refuses a non-loopback address even when the
// URL check is bypassed.
func TestDefaultHTTPClient_RefusesNonLoopbackDial(t *testing.T) {
	c := defaultHTTPClient()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://192.0.2.1/", nil)
	_, err := c.Do(req)
	if err == nil || !errors.Is(err, errNotLoopback) {
		t.Errorf("default client GET http://192.0.2.1/ = %v, want refusal before connecting", err)
	}
}
