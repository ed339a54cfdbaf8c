package federation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"sync"
	"testing"
	"time"
)

// t0 is the fixed time every test starts at.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeClock is an injected clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// RSA key generation is slow, so the test binary makes a few once.
var testRSAKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 3)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

func rsaKey(tb testing.TB, i int) *rsa.PrivateKey {
	tb.Helper()
	return testRSAKeys()[i]
}

func ecKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func newTestIdP(tb testing.TB, issuer string, key any, clock *fakeClock) *IdP {
	tb.Helper()
	opts := IdPOptions{Issuer: issuer, Now: clock.Now}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		opts.Key = k
	case *ecdsa.PrivateKey:
		opts.Key = k
	}
	p, err := NewIdP(opts)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func mustToken(tb testing.TB, p *IdP, sub string, aud []string, ttl time.Duration, extra map[string]any) string {
	tb.Helper()
	tok, err := p.Token(sub, aud, ttl, extra)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func newTestSAMLIdP(tb testing.TB, entityID string, keyIndex int, clock *fakeClock) *SAMLIdP {
	tb.Helper()
	key := rsaKey(tb, keyIndex)
	cert := testCert(tb, key)
	p, err := NewSAMLIdP(entityID, key, cert, clock.Now)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func testCert(tb testing.TB, key *rsa.PrivateKey) *x509.Certificate {
	tb.Helper()
	cert, err := SelfSignedCertificate(key, "imdsemu test IdP", t0)
	if err != nil {
		tb.Fatal(err)
	}
	return cert
}

// errCode is the STS code of err, or "" (and a test failure) when err is
// not an *Error.
func errCode(tb testing.TB, err error) string {
	tb.Helper()
	if err == nil {
		return ""
	}
	var fe *Error
	if !errors.As(err, &fe) {
		tb.Fatalf("error %v (%T) is not a *federation.Error", err, err)
	}
	return fe.Code
}
