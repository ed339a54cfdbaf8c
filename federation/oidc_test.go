package federation

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
)

// signRaw signs claims as a compact JWS with alg and kid, bypassing IdP's
// checks, to make tokens the IdP would never mint.
func signRaw(tb testing.TB, key any, kid string, alg jose.SignatureAlgorithm, claims map[string]any) string {
	tb.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// unsignedToken is a token with alg "none".
func unsignedToken(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	p, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

func TestOIDCVerifier_Verify(t *testing.T) {
	clock := newClock()
	const iss = "https://idp.example.com"
	idp := newTestIdP(t, iss, rsaKey(t, 0), clock)
	ecIdP := newTestIdP(t, "https://ec.example.com/tenant/", ecKey(t), clock)
	other := newTestIdP(t, iss, rsaKey(t, 1), clock) // same issuer, other key
	providers := []OIDCProvider{
		// Stored as IAM does, without https://.
		{URL: "idp.example.com", ClientIDs: []string{"sts.amazonaws.com", "app"}, JWKS: idp.JWKS()},
		ecIdP.Provider("ec-client"),
	}
	std := func(extra map[string]any) map[string]any {
		c := map[string]any{"iss": iss, "sub": "user-1", "aud": "app", "exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix()}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	raw := func(claims map[string]any) string {
		return signRaw(t, rsaKey(t, 0), idp.KeyID(), jose.RS256, claims)
	}
	good := mustToken(t, idp, "user-1", []string{"app"}, time.Hour, map[string]any{"email": "u@example.com", "amr": []string{"pwd"}})
	tampered := func() string {
		parts := strings.Split(good, ".")
		var c map[string]any
		b, _ := base64.RawURLEncoding.DecodeString(parts[1])
		json.Unmarshal(b, &c)
		c["sub"] = "admin"
		b, _ = json.Marshal(c)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	}()
	hmacKey := []byte("0123456789abcdef0123456789abcdef")

	cases := []struct {
		name    string
		token   string
		advance time.Duration
		code    string
		msg     string // substring of the message
		check   func(t *testing.T, c WebIdentityClaims, p *OIDCProvider)
	}{
		{name: "good RS256", token: good, check: func(t *testing.T, c WebIdentityClaims, p *OIDCProvider) {
			if p != &providers[0] {
				t.Errorf("provider = %+v, want providers[0]", p)
			}
			want := WebIdentityClaims{
				Issuer: iss, Subject: "user-1", Audience: []string{"app"}, ClientID: "app",
				Expiry: t0.Add(time.Hour), IssuedAt: t0,
				Extra: map[string]any{"email": "u@example.com", "amr": []any{"pwd"}, "jti": c.Extra["jti"]},
			}
			if d := cmp.Diff(want, c); d != "" {
				t.Errorf("claims (-want +got):\n%s", d)
			}
		}},
		{name: "good ES256 issuer with path and trailing slash",
			token: mustToken(t, ecIdP, "ec-user", []string{"ec-client"}, time.Minute, nil),
			check: func(t *testing.T, c WebIdentityClaims, p *OIDCProvider) {
				if c.Subject != "ec-user" || p != &providers[1] {
					t.Errorf("got sub %q provider %v", c.Subject, p)
				}
			}},
		{name: "several audiences, one matches", token: mustToken(t, idp, "u", []string{"x", "sts.amazonaws.com"}, time.Hour, nil),
			check: func(t *testing.T, c WebIdentityClaims, _ *OIDCProvider) {
				if c.ClientID != "sts.amazonaws.com" {
					t.Errorf("ClientID = %q, want sts.amazonaws.com", c.ClientID)
				}
			}},
		{name: "azp matches when aud does not", token: mustToken(t, idp, "u", []string{"other"}, time.Hour, map[string]any{"azp": "app"}),
			check: func(t *testing.T, c WebIdentityClaims, _ *OIDCProvider) {
				if c.ClientID != "app" {
					t.Errorf("ClientID = %q, want app", c.ClientID)
				}
			}},
		{name: "no kid tries every key", token: signRaw(t, rsaKey(t, 0), "", jose.RS256, std(nil))},
		{name: "nbf within skew", token: raw(std(map[string]any{"nbf": t0.Add(30 * time.Second).Unix()}))},

		{name: "wrong aud", token: mustToken(t, idp, "u", []string{"someone-else"}, time.Hour, nil),
			code: CodeInvalidIdentityToken, msg: "Incorrect token audience"},
		{name: "expired", token: good, advance: time.Hour,
			code: CodeExpiredToken, msg: "Token expired: current date/time 1893557045 must be before the expiration date/time 1893557045"},
		{name: "expired long ago", token: mustToken(t, idp, "u", []string{"app"}, -time.Minute, nil),
			code: CodeExpiredToken},
		{name: "unknown issuer", token: mustToken(t, newTestIdP(t, "https://elsewhere.example", rsaKey(t, 0), clock), "u", []string{"app"}, time.Hour, nil),
			code: CodeInvalidIdentityToken, msg: "No OpenIDConnect provider found in your account for https://elsewhere.example"},
		{name: "http issuer does not match https provider", token: raw(std(map[string]any{"iss": "http://idp.example.com"})),
			code: CodeInvalidIdentityToken, msg: "No OpenIDConnect provider found"},
		{name: "bad signature: other key, same kid", token: signRaw(t, rsaKey(t, 1), idp.KeyID(), jose.RS256, std(nil)),
			code: CodeInvalidIdentityToken, msg: "signature could not be verified"},
		{name: "bad signature: other key, own kid", token: mustToken(t, other, "u", []string{"app"}, time.Hour, nil),
			code: CodeInvalidIdentityToken, msg: "has no RS256 key with kid"},
		{name: "bad signature: payload tampered", token: tampered,
			code: CodeInvalidIdentityToken, msg: "signature could not be verified"},
		{name: "alg none", token: unsignedToken(std(nil)),
			code: CodeInvalidIdentityToken, msg: `alg "none"`},
		{name: "alg HS256", token: signRaw(t, hmacKey, idp.KeyID(), jose.HS256, std(nil)),
			code: CodeInvalidIdentityToken, msg: `alg "HS256"`},
		{name: "alg RS384", token: signRaw(t, rsaKey(t, 0), idp.KeyID(), jose.RS384, std(nil)),
			code: CodeInvalidIdentityToken, msg: `alg "RS384"`},
		{name: "malformed", token: "not.a.jwt",
			code: CodeInvalidIdentityToken, msg: "not a valid JWT"},
		{name: "access token shaped", token: "ya29.a0AfH6SMBx",
			code: CodeInvalidIdentityToken, msg: "not a valid JWT"},
		{name: "missing sub", token: raw(std(map[string]any{"sub": nil})),
			code: CodeInvalidIdentityToken, msg: "no sub claim"},
		{name: "missing exp", token: raw(std(map[string]any{"exp": nil})),
			code: CodeInvalidIdentityToken, msg: "no exp claim"},
		{name: "missing iss", token: raw(std(map[string]any{"iss": nil})),
			code: CodeInvalidIdentityToken, msg: "no iss claim"},
		{name: "nbf in the future", token: raw(std(map[string]any{"nbf": t0.Add(10 * time.Minute).Unix()})),
			code: CodeInvalidIdentityToken, msg: "not valid yet"},
		{name: "too short", token: "abc", code: CodeValidation, msg: "between 4 and 20000"},
		{name: "too long", token: good + "." + strings.Repeat("a", MaxTokenLength), code: CodeValidation, msg: "between 4 and 20000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &fakeClock{t: t0.Add(tc.advance)}
			v := NewOIDCVerifier(OIDCOptions{Now: c.Now, HTTPClient: noNetworkClient(t)})
			claims, p, err := v.Verify(context.Background(), tc.token, providers)
			if got := errCode(t, err); got != tc.code {
				t.Fatalf("Verify code = %q (%v), want %q", got, err, tc.code)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("Verify error = %q, want it to contain %q", err, tc.msg)
				}
				if strings.Contains(err.Error(), tc.token) {
					t.Errorf("Verify error contains the token")
				}
				if p != nil {
					t.Errorf("Verify returned provider %v with an error", p)
				}
				return
			}
			if tc.check != nil {
				tc.check(t, claims, p)
			}
		})
	}
}

func TestOIDCVerifier_InlineJWKSProblems(t *testing.T) {
	clock := newClock()
	idp := newTestIdP(t, "https://idp.example.com", rsaKey(t, 0), clock)
	tok := mustToken(t, idp, "u", []string{"app"}, time.Hour, nil)
	priv, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: rsaKey(t, 0), KeyID: idp.KeyID()}}})
	encOnly, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{"kty": "RSA", "use": "enc", "kid": idp.KeyID(), "n": "AQAB", "e": "AQAB"}}})
	cases := []struct {
		name string
		jwks []byte
		msg  string
	}{
		{"private key published", priv, "private key"},
		{"no signing key", encOnly, "no usable public signing key"},
		{"not JSON", []byte("{"), "not a JWK Set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := NewOIDCVerifier(OIDCOptions{Now: clock.Now, HTTPClient: noNetworkClient(t)})
			_, _, err := v.Verify(context.Background(), tok, []OIDCProvider{{URL: "https://idp.example.com", ClientIDs: []string{"app"}, JWKS: tc.jwks}})
			if errCode(t, err) != CodeInvalidIdentityToken || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Verify = %v, want InvalidIdentityToken containing %q", err, tc.msg)
			}
		})
	}
}

func TestError_HTTPStatus(t *testing.T) {
	for _, code := range []string{CodeInvalidIdentityToken, CodeExpiredToken, CodeIDPCommunication, CodeValidation} {
		if got := (&Error{Code: code}).HTTPStatus(); got != 400 {
			t.Errorf("HTTPStatus(%s) = %d, want 400", code, got)
		}
	}
	if got := (&Error{Code: "IDPRejectedClaim", Msg: "m"}); got.HTTPStatus() != 403 || got.Error() != "IDPRejectedClaim: m" {
		t.Errorf("IDPRejectedClaim: %d %q", got.HTTPStatus(), got.Error())
	}
}
