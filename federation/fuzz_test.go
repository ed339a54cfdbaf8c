package federation

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzVerifySAML feeds arbitrary input to VerifySAML, both as given and
// base64-encoded (so the XML parser and signature code see arbitrary XML).
// It must never panic, and whatever verifies must say exactly what the
// IdP signed.
func FuzzVerifySAML(f *testing.F) {
	clock := newClock()
	idp := newTestSAMLIdP(f, testEntityID, 0, clock)
	provider := idp.Provider(testProviderARN)
	good, err := idp.Assertion(baseRequest())
	if err != nil {
		f.Fatal(err)
	}
	want, err := VerifySAML(good, provider, t0)
	if err != nil {
		f.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(good)
	f.Add(good)
	f.Add(string(raw))
	f.Add(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"/></samlp:Response>`)
	f.Add(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="a"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:Reference URI="#a"/></ds:SignedInfo><ds:SignatureValue/></ds:Signature></samlp:Response>`)
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		for _, s := range []string{in, base64.StdEncoding.EncodeToString([]byte(in))} {
			a, err := VerifySAML(s, provider, t0)
			if err == nil {
				if !cmp.Equal(a, want) {
					t.Errorf("VerifySAML accepted content the IdP did not sign: %+v", a)
				}
				continue
			}
			errCode(t, err) // every error is an *Error
		}
	})
}

// FuzzOIDCVerify feeds arbitrary tokens to Verify. It must never panic, and
// a token may only verify if its signed part (header and payload) is
// exactly that of a token the IdP minted: no forgery.
func FuzzOIDCVerify(f *testing.F) {
	clock := newClock()
	idp := newTestIdP(f, "https://idp.example.com", rsaKey(f, 0), clock)
	ecIdP := newTestIdP(f, "https://ec.example.com", ecKey(f), clock)
	providers := []OIDCProvider{idp.Provider("app"), ecIdP.Provider("app")}
	minted := map[string]bool{}
	for _, p := range []*IdP{idp, ecIdP} {
		tok := mustToken(f, p, "user", []string{"app"}, time.Hour, map[string]any{"email": "u@example.com"})
		minted[signedPart(tok)] = true
		f.Add(tok)
	}
	f.Add(unsignedToken(map[string]any{"iss": "https://idp.example.com", "sub": "x", "aud": "app", "exp": t0.Add(time.Hour).Unix()}))
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.")
	f.Add("a.b.c")
	v := NewOIDCVerifier(OIDCOptions{Now: clock.Now, HTTPClient: noNetworkClient(f)})
	f.Fuzz(func(t *testing.T, tok string) {
		c, _, err := v.Verify(context.Background(), tok, providers)
		if err == nil {
			if !minted[signedPart(tok)] {
				t.Errorf("Verify accepted a token the IdP did not mint: %+v", c)
			}
			return
		}
		errCode(t, err)
	})
}

func signedPart(tok string) string {
	i := strings.LastIndexByte(tok, '.')
	if i < 0 {
		return ""
	}
	return tok[:i]
}
