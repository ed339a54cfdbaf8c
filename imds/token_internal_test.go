package imds

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/credential"
)

var (
	fuzzNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	fuzzKey = bytes.Repeat([]byte{0x5a}, 32)
)

func TestTokenLengths(t *testing.T) {
	if got, want := tokenPayloadEncLen, tokenEncoding.EncodedLen(tokenPayloadLen); got != want {
		t.Errorf("tokenPayloadEncLen = %d, want %d", got, want)
	}
	if got, want := tokenLen, tokenEncoding.EncodedLen(tokenPayloadLen)+1+tokenEncoding.EncodedLen(tokenMACLen); got != want {
		t.Errorf("tokenLen = %d, want %d", got, want)
	}
}

// fuzzInstance is the instance id the codec tests bind tokens to.
const fuzzInstance = "i-0123456789abcdef0"

func TestTokenCodec(t *testing.T) {
	c := newTokenCodec(fuzzKey, fuzzInstance)
	nonce := [tokenNonceSize]byte{1, 2, 3}
	exp := fuzzNow.Add(time.Minute)
	tok := c.issue(exp, &nonce)
	if len(tok) != tokenLen {
		t.Fatalf("len(token) = %d, want %d", len(tok), tokenLen)
	}
	if strings.ContainsAny(tok, "=+/\n") {
		t.Errorf("token %q is not unpadded base64url", tok)
	}

	got, err := c.verify(tok, fuzzNow)
	if err != nil || !got.Equal(exp) {
		t.Errorf("verify(fresh) = %v, %v, want %v, nil", got, err, exp)
	}
	// Another codec with the same key (a restarted server) accepts it.
	if _, err := newTokenCodec(bytes.Clone(fuzzKey), fuzzInstance).verify(tok, fuzzNow); err != nil {
		t.Errorf("verify with the same key in a new codec = %v, want nil", err)
	}

	other := newTokenCodec(bytes.Repeat([]byte{0x5b}, 32), fuzzInstance)
	cases := []struct {
		name string
		c    *tokenCodec
		tok  string
		now  time.Time
		want error
	}{
		{"expired at expiry", c, tok, exp, errTokenExpired},
		{"expired after", c, tok, exp.Add(time.Hour), errTokenExpired},
		{"wrong key", other, tok, fuzzNow, errTokenForged},
		{"another instance", newTokenCodec(fuzzKey, "i-0fedcba9876543210"), tok, fuzzNow, errTokenForged},
		{"empty", c, "", fuzzNow, errTokenMalformed},
		{"short", c, tok[:len(tok)-1], fuzzNow, errTokenMalformed},
		{"long", c, tok + "A", fuzzNow, errTokenMalformed},
		{"no dot", c, strings.Replace(tok, ".", "A", 1), fuzzNow, errTokenMalformed},
		{"padding", c, tok[:len(tok)-1] + "=", fuzzNow, errTokenMalformed},
		{"newline", c, tok[:10] + "\n" + tok[11:], fuzzNow, errTokenMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.c.verify(tc.tok, tc.now); !errors.Is(err, tc.want) {
				t.Errorf("verify(%q) = %v, want %v", tc.tok, err, tc.want)
			}
		})
	}

	// Every single-character change is refused.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
	for i := range len(tok) {
		for j := range len(alphabet) {
			if alphabet[j] == tok[i] {
				continue
			}
			m := tok[:i] + alphabet[j:j+1] + tok[i+1:]
			if _, err := c.verify(m, fuzzNow); err == nil {
				t.Fatalf("verify(%q) with byte %d changed = nil, want an error", m, i)
			}
		}
	}
}

func TestParseTTL(t *testing.T) {
	cases := []struct {
		in   string
		want int
		ok   bool
	}{
		{"1", 1, true}, {"300", 300, true}, {"21600", 21600, true}, {"00060", 60, true},
		{"", 0, false}, {"0", 0, false}, {"-5", 0, false}, {"+5", 0, false}, {"21601", 0, false},
		{"abc", 0, false}, {" 60", 0, false}, {"60 ", 0, false}, {"1e3", 0, false}, {"000001", 0, false},
	}
	for _, tc := range cases {
		got, ok := parseTTL(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseTTL(%q) = %d, %t, want %d, %t", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzToken feeds arbitrary strings to the verifier. It must not panic,
// and nothing but a token the codec issued may verify.
func FuzzToken(f *testing.F) {
	c := newTokenCodec(fuzzKey, fuzzInstance)
	issued := map[string]bool{}
	for i, ttl := range []time.Duration{time.Second, time.Minute, MaxTokenTTL} {
		nonce := [tokenNonceSize]byte{byte(i), 0xff, 0x10}
		tok := c.issue(fuzzNow.Add(ttl), &nonce)
		issued[tok] = true
		f.Add(tok)
		f.Add(tok[:len(tok)-1])
		f.Add(strings.ToUpper(tok))
	}
	other := newTokenCodec(bytes.Repeat([]byte{1}, 32), fuzzInstance)
	f.Add(other.issue(fuzzNow.Add(time.Hour), &[tokenNonceSize]byte{}))
	f.Add("")
	f.Add(".")
	f.Add(strings.Repeat("A", tokenLen))
	f.Add(strings.Repeat("A", tokenPayloadEncLen) + "." + strings.Repeat("A", tokenLen-tokenPayloadEncLen-1))

	f.Fuzz(func(t *testing.T, tok string) {
		exp, err := c.verify(tok, fuzzNow)
		if err == nil && !issued[tok] {
			t.Fatalf("verify(%q) = %v, nil: a token that was never issued verifies", tok, exp)
		}
		if err != nil && issued[tok] {
			t.Fatalf("verify(%q) of an issued, unexpired token = %v", tok, err)
		}
		if err != nil && !errors.Is(err, errTokenMalformed) && !errors.Is(err, errTokenForged) && !errors.Is(err, errTokenExpired) {
			t.Fatalf("verify(%q) = unexpected error %v", tok, err)
		}
	})
}

func TestCredentialsDocSize(t *testing.T) {
	c := credential.Value{AccessKeyID: "AKID", SecretAccessKey: "secret", SessionToken: "token", Issued: fuzzNow, Expires: fuzzNow}
	if got, want := len(appendCredentials(nil, &c, "")), credentialsDocSize+4+6+5; got != want {
		t.Errorf("credentials document is %d bytes, want credentialsDocSize+values = %d", got, want)
	}
	if !strings.HasPrefix(routeCredentials, credentialsPrefix) || routeCredentials[len(credentialsPrefix):] != "{role}" {
		t.Errorf("credentialsPrefix %q does not match routeCredentials %q", credentialsPrefix, routeCredentials)
	}
}

// issue returns a token that expires at expires.
func (c *tokenCodec) issue(expires time.Time, nonce *[tokenNonceSize]byte) string {
	return string(c.appendToken(make([]byte, 0, tokenLen), expires, nonce))
}
