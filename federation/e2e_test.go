package federation

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"
)

// The built-in OIDC provider served over HTTP on loopback, verified the way
// STS does it: discovery document, then JWKS, with the default
// (loopback-only) client.
func TestEndToEnd_OIDC(t *testing.T) {
	clock := newClock()
	key, err := LoadOrCreateRSAKey(t.TempDir() + "/idp-oidc.key")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	idp, err := NewIdP(IdPOptions{Issuer: issuer, Key: key, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = idp.Handler()
	srv.Start()
	t.Cleanup(srv.Close)

	tok, err := idp.Token("system:serviceaccount:default:app", []string{"sts.amazonaws.com"}, 15*time.Minute,
		map[string]any{"amr": []string{"pwd", "mfa"}, "email": "app@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	v := NewOIDCVerifier(OIDCOptions{Now: clock.Now})
	providers := []OIDCProvider{
		{URL: "https://token.actions.githubusercontent.com", ClientIDs: []string{"sts.amazonaws.com"}},
		{URL: issuer, ClientIDs: []string{"sts.amazonaws.com"}},
	}
	claims, p, err := v.Verify(context.Background(), tok, providers)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if p != &providers[1] || claims.Issuer != issuer || claims.Subject != "system:serviceaccount:default:app" ||
		claims.ClientID != "sts.amazonaws.com" || !claims.Expiry.Equal(t0.Add(15*time.Minute)) || claims.Extra["email"] != "app@example.com" {
		t.Errorf("Verify = %+v from %+v", claims, p)
	}
	// The provider entry the IdP describes (inline JWKS) verifies the same
	// token without the server.
	srv.Close()
	if _, _, err := NewOIDCVerifier(OIDCOptions{Now: clock.Now}).Verify(context.Background(), tok, []OIDCProvider{idp.Provider("sts.amazonaws.com")}); err != nil {
		t.Errorf("Verify with idp.Provider: %v", err)
	}
	clock.Advance(15 * time.Minute)
	if _, _, err := v.Verify(context.Background(), tok, providers); errCode(t, err) != CodeExpiredToken {
		t.Errorf("Verify after expiry = %v, want ExpiredTokenException", err)
	}
}

// The built-in SAML IdP's metadata and assertion, verified the way STS does
// it.
func TestEndToEnd_SAML(t *testing.T) {
	clock := newClock()
	dir := t.TempDir()
	key, err := LoadOrCreateRSAKey(dir + "/idp-saml.key")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := LoadOrCreateCertificate(dir+"/idp-saml.crt", key, DefaultSAMLEntityID, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	idp, err := NewSAMLIdP("", key, cert, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	const providerARN = "arn:aws:iam::123456789012:saml-provider/imdsemu"
	resp, err := idp.Assertion(AssertionRequest{
		Roles:             []SAMLRole{{RoleARN: "arn:aws:iam::123456789012:role/saml-admin", PrincipalARN: providerARN}},
		SessionName:       "alice",
		SessionDuration:   time.Hour,
		Tags:              map[string]string{"team": "blue"},
		TransitiveTagKeys: []string{"team"},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := VerifySAML(resp, SAMLProvider{ARN: providerARN, MetadataXML: idp.Metadata()}, clock.Now().Add(time.Minute))
	if err != nil {
		t.Fatalf("VerifySAML: %v", err)
	}
	if !a.HasRole("arn:aws:iam::123456789012:role/saml-admin", providerARN) || a.SessionName != "alice" ||
		a.SessionDuration != time.Hour || a.Tags["team"] != "blue" || a.Issuer != DefaultSAMLEntityID ||
		a.NameQualifier != NameQualifier(DefaultSAMLEntityID, "123456789012", "imdsemu") {
		t.Errorf("VerifySAML = %+v", a)
	}
}
