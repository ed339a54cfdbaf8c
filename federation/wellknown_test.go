package federation

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Tokens minted by one process verify in another that opens the same data
// directory later: the keys are the files, nothing is kept in memory.
func TestWebIdPs_AcrossOpens(t *testing.T) {
	dir := t.TempDir()
	clock := newClock()
	minter, err := OpenWebIdPs(dir, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := OpenWebIdPs(dir, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{WebIdPKeyFile, OAuthKeyFile} {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", f, err, info.Mode().Perm())
		}
	}
	for _, p := range []string{ProviderFacebook, ProviderAmazon} {
		tok, err := minter.AccessToken(p, "app-1", "user-1", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(tok, "app-1") || strings.Contains(tok, "user-1") {
			t.Errorf("%s token %q shows its claims; access tokens are opaque", p, tok)
		}
		c, err := verifier.VerifyAccessToken(p, tok)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		want := AccessTokenClaims{Provider: p, AppID: "app-1", UserID: "user-1", IssuedAt: t0.Unix(), Expiry: t0.Add(time.Hour).Unix()}
		if c != want {
			t.Errorf("%s claims = %+v, want %+v", p, c, want)
		}
	}
	v := NewOIDCVerifier(OIDCOptions{Now: clock.Now})
	for _, p := range []string{ProviderGoogle, ProviderCognito} {
		tok, err := minter.IDToken(p, "sub-1", []string{"client-1"}, time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, matched, err := v.Verify(context.Background(), tok, verifier.Providers())
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if matched.WellKnown != p || c.ClientID != "client-1" || c.Issuer != "https://"+p {
			t.Errorf("%s: matched %q, client %q, iss %q", p, matched.WellKnown, c.ClientID, c.Issuer)
		}
		if amr, _ := c.Extra["amr"].([]any); p == ProviderCognito && (len(amr) != 1 || amr[0] != "authenticated") {
			t.Errorf("cognito amr = %v, want [authenticated]", c.Extra["amr"])
		}
	}
}

func TestWebIdPs_Refuses(t *testing.T) {
	clock := newClock()
	w, err := NewWebIdPs(WebIdPsOptions{Key: ecKey(t), OAuthKey: make([]byte, 32), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewWebIdPs(WebIdPsOptions{Key: ecKey(t), OAuthKey: []byte(strings.Repeat("k", 32)), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	fb, _ := w.AccessToken(ProviderFacebook, "app", "user", time.Hour)
	amzn, _ := w.AccessToken(ProviderAmazon, "app", "user", time.Hour)
	short, _ := w.AccessToken(ProviderAmazon, "app", "user", time.Minute)
	forged, _ := other.AccessToken(ProviderFacebook, "app", "user", time.Hour)
	clock.Advance(2 * time.Minute)
	swap := byte('A')
	if fb[10] == 'A' {
		swap = 'B'
	}
	tampered := fb[:10] + string(swap) + fb[11:]
	// The Amazon token relabelled as Facebook's: the provider is sealed in.
	relabelled := "EAA" + strings.TrimPrefix(amzn, "Atza|")
	for name, tc := range map[string]struct{ provider, token, code string }{
		"OtherProvider":  {ProviderAmazon, fb, CodeInvalidIdentityToken},
		"Relabelled":     {ProviderFacebook, relabelled, CodeInvalidIdentityToken},
		"Tampered":       {ProviderFacebook, tampered, CodeInvalidIdentityToken},
		"OtherKey":       {ProviderFacebook, forged, CodeInvalidIdentityToken},
		"NotOAuth":       {ProviderGoogle, fb, CodeInvalidIdentityToken},
		"Expired":        {ProviderAmazon, short, CodeExpiredToken},
		"TooShort":       {ProviderAmazon, "EAA", CodeValidation},
		"NotBase64":      {ProviderFacebook, "EAA!!!!", CodeInvalidIdentityToken},
		"AJWTAsFacebook": {ProviderFacebook, "eyJhbGciOiJSUzI1NiJ9.e30.sig", CodeInvalidIdentityToken},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := w.VerifyAccessToken(tc.provider, tc.token)
			if got := errCode(t, err); got != tc.code {
				t.Fatalf("code = %q (%v), want %q", got, err, tc.code)
			}
			if len(tc.token) > 8 && strings.Contains(err.Error(), tc.token) {
				t.Error("the error shows the token")
			}
		})
	}
	if _, err := w.AccessToken(ProviderGoogle, "a", "u", 0); err == nil {
		t.Error("Google access token minted")
	}
	if _, err := w.IDToken(ProviderFacebook, "s", []string{"a"}, 0, nil); err == nil {
		t.Error("Facebook ID token minted")
	}
	if _, err := NewWebIdPs(WebIdPsOptions{Key: ecKey(t), OAuthKey: make([]byte, 16)}); err == nil {
		t.Error("16-byte OAuth key accepted")
	}
}

// Google's aud condition key is azp when the token has one; every audience
// is accepted, since no provider entity lists client IDs.
func TestWebIdPs_GoogleAudience(t *testing.T) {
	clock := newClock()
	w, err := NewWebIdPs(WebIdPsOptions{Key: ecKey(t), OAuthKey: make([]byte, 32), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	v := NewOIDCVerifier(OIDCOptions{Now: clock.Now})
	tok, err := w.IDToken(ProviderGoogle, "1", []string{"server-client"}, time.Hour, map[string]any{"azp": "android-client"})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := v.Verify(context.Background(), tok, w.Providers())
	if err != nil || c.ClientID != "android-client" {
		t.Errorf("ClientID = %q, %v; want android-client", c.ClientID, err)
	}
}

func TestLookupWellKnown(t *testing.T) {
	for in, want := range map[string]string{"google": ProviderGoogle, "Facebook": ProviderFacebook, "www.amazon.com": ProviderAmazon,
		"cognito": ProviderCognito, "api.twitter.com": ""} {
		if got, ok := LookupWellKnown(in); got != want || ok != (want != "") {
			t.Errorf("LookupWellKnown(%q) = %q, %v", in, got, ok)
		}
	}
	if !IsWellKnown(ProviderCognito) || IsWellKnown("example.com") {
		t.Error("IsWellKnown")
	}
}
