package federation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// rfc7638 computes the thumbprint by the RFC's recipe, independently of
// go-jose.
func rfc7638(pub *rsa.PublicKey) string {
	b64 := base64.RawURLEncoding.EncodeToString
	in := `{"e":"` + b64(big.NewInt(int64(pub.E)).Bytes()) + `","kty":"RSA","n":"` + b64(pub.N.Bytes()) + `"}`
	sum := sha256.Sum256([]byte(in))
	return b64(sum[:])
}

func TestIdP_Handler(t *testing.T) {
	clock := newClock()
	key := rsaKey(t, 0)
	cases := []struct {
		issuer, prefix string
	}{
		{"http://127.0.0.1:1339", ""},
		{"http://127.0.0.1:1339/", ""},
		{"http://127.0.0.1:1339/idp/tenant", "/idp/tenant"},
	}
	for _, tc := range cases {
		t.Run(tc.issuer, func(t *testing.T) {
			idp := newTestIdP(t, tc.issuer, key, clock)
			h := idp.Handler()
			get := func(method, path string) *httptest.ResponseRecorder {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
				return rec
			}
			rec := get(http.MethodGet, tc.prefix+DiscoveryPath)
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("GET discovery = %d %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			var disc map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &disc); err != nil {
				t.Fatal(err)
			}
			iss := strings.TrimSuffix(tc.issuer, "/")
			if disc["issuer"] != iss || disc["jwks_uri"] != iss+JWKSPath {
				t.Errorf("discovery issuer %v jwks_uri %v, want %s and %s", disc["issuer"], disc["jwks_uri"], iss, iss+JWKSPath)
			}
			rec = get(http.MethodGet, tc.prefix+JWKSPath)
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil || len(set.Keys) != 1 {
				t.Fatalf("JWKS = %s, %v", rec.Body, err)
			}
			k := set.Keys[0]
			if want := rfc7638(&key.PublicKey); k["kid"] != want || idp.KeyID() != want {
				t.Errorf("kid = %v (KeyID %q), want the RFC 7638 thumbprint %q", k["kid"], idp.KeyID(), want)
			}
			if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" || k["d"] != nil {
				t.Errorf("JWKS key = %v, want a public RS256 signing key", k)
			}
			if rec := get(http.MethodPost, tc.prefix+JWKSPath); rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("POST jwks = %d, want 405", rec.Code)
			}
			if rec := get(http.MethodGet, tc.prefix+"/token"); rec.Code != http.StatusNotFound {
				t.Errorf("GET /token = %d, want 404", rec.Code)
			}
		})
	}
}

func TestNewIdP_Errors(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		opts IdPOptions
		msg  string
	}{
		{"no key", IdPOptions{}, "Key is required"},
		{"small RSA key", IdPOptions{Key: small}, "at least 2048"},
		{"P-384", IdPOptions{Key: p384}, "P-256"},
		{"relative issuer", IdPOptions{Key: rsaKey(t, 0), Issuer: "127.0.0.1:1339"}, "http(s) URL"},
		{"issuer with query", IdPOptions{Key: rsaKey(t, 0), Issuer: "http://127.0.0.1/?a=b"}, "no query"},
	}
	for _, tc := range cases {
		if _, err := NewIdP(tc.opts); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("NewIdP(%s) = %v, want an error containing %q", tc.name, err, tc.msg)
		}
	}
	p, err := NewIdP(IdPOptions{Key: rsaKey(t, 0)})
	if err != nil || p.Issuer() != DefaultIssuer {
		t.Errorf("NewIdP with no issuer = %v, %v; want issuer %s", p, err, DefaultIssuer)
	}
}

func TestIdP_Token(t *testing.T) {
	clock := newClock()
	idp := newTestIdP(t, "http://127.0.0.1:1339", rsaKey(t, 0), clock)
	bad := []struct {
		name  string
		sub   string
		aud   []string
		extra map[string]any
		msg   string
	}{
		{"no sub", "", []string{"a"}, nil, "sub"},
		{"no aud", "s", nil, nil, "audience"},
		{"extra sets exp", "s", []string{"a"}, map[string]any{"exp": 1}, `"exp"`},
		{"extra sets iss", "s", []string{"a"}, map[string]any{"iss": "x"}, `"iss"`},
	}
	for _, tc := range bad {
		if _, err := idp.Token(tc.sub, tc.aud, time.Hour, tc.extra); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Token(%s) = %v, want an error containing %q", tc.name, err, tc.msg)
		}
	}

	// Header and claims as an OIDC relying party expects them.
	tok := mustToken(t, idp, "s", []string{"a"}, 0, map[string]any{"https://aws.amazon.com/tags": map[string]any{"principal_tags": map[string]any{"team": []string{"blue"}}}})
	parts := strings.Split(tok, ".")
	var hdr, claims map[string]any
	b, _ := base64.RawURLEncoding.DecodeString(parts[0])
	json.Unmarshal(b, &hdr)
	b, _ = base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(b, &claims)
	if hdr["alg"] != "RS256" || hdr["kid"] != idp.KeyID() || hdr["typ"] != "JWT" {
		t.Errorf("header = %v", hdr)
	}
	if claims["aud"] != "a" || claims["iss"] != "http://127.0.0.1:1339" || claims["exp"] != float64(t0.Add(DefaultTokenTTL).Unix()) || claims["jti"] == "" {
		t.Errorf("claims = %v; want a single aud as a string, iss, exp = iat + 1h, a jti", claims)
	}
	if _, ok := claims["https://aws.amazon.com/tags"].(map[string]any); !ok {
		t.Errorf("claims lack the tags claim: %v", claims)
	}
	if tok2 := mustToken(t, idp, "s", []string{"a"}, 0, nil); strings.Split(tok2, ".")[1] == parts[1] {
		t.Error("two tokens have the same payload; jti must differ")
	}
}
