package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/federation"
)

// runIdP executes "imdsemu idp ARGS..." in-process with the given
// environment and returns stdout and the error.
func runIdP(t *testing.T, environ map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := &cobra.Command{Use: "imdsemu", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(newIdPCmd(Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return environ[k] }}))
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"idp"}, args...))
	err := root.Execute()
	return out.String(), err
}

func TestIdPCmd_Token(t *testing.T) {
	dir := t.TempDir()
	out, err := runIdP(t, nil, "token", "--data-dir", dir, "--sub", "dev", "--aud", "sts.amazonaws.com",
		"--ttl", "10m", "--claim", "email=dev@example.com", "--claim", `amr=["pwd","mfa"]`, "--claim", "n=3")
	if err != nil {
		t.Fatalf("idp token: %v", err)
	}
	tok := strings.TrimSpace(out)
	if info, err := os.Stat(filepath.Join(dir, federation.OIDCKeyFile)); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", info, err)
	}
	// The same data dir gives the same provider, which verifies the token.
	idp, err := federation.OpenIdP(dir, federation.DefaultIssuer, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	v := federation.NewOIDCVerifier(federation.OIDCOptions{})
	c, _, err := v.Verify(context.Background(), tok, []federation.OIDCProvider{idp.Provider("sts.amazonaws.com")})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Issuer != federation.DefaultIssuer || c.Subject != "dev" || c.Extra["email"] != "dev@example.com" || c.Extra["n"] != float64(3) {
		t.Errorf("claims = %+v", c)
	}
	if amr, _ := c.Extra["amr"].([]any); len(amr) != 2 {
		t.Errorf("amr = %v, want a list of two", c.Extra["amr"])
	}
	if d := time.Until(c.Expiry); d <= 0 || d > 10*time.Minute {
		t.Errorf("expiry in %v, want within 10m", d)
	}

	// The printed JWKS, registered inline, verifies the token too.
	jwks, err := runIdP(t, nil, "jwks", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.Verify(context.Background(), tok, []federation.OIDCProvider{{URL: "http://127.0.0.1:1339", ClientIDs: []string{"sts.amazonaws.com"}, JWKS: []byte(jwks)}}); err != nil {
		t.Errorf("Verify with the printed JWKS: %v", err)
	}

	// The data dir comes from IMDSEMU_DATA_DIR, then XDG_DATA_HOME.
	xdg := t.TempDir()
	if _, err := runIdP(t, map[string]string{"XDG_DATA_HOME": xdg}, "token", "--sub", "s", "--aud", "a", "--issuer", "http://127.0.0.1:9999"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(xdg, "imdsemu", federation.OIDCKeyFile)); err != nil {
		t.Errorf("key not created under XDG_DATA_HOME: %v", err)
	}
	envDir := t.TempDir()
	if _, err := runIdP(t, map[string]string{"IMDSEMU_DATA_DIR": envDir, "XDG_DATA_HOME": xdg}, "token", "--sub", "s", "--aud", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(envDir, federation.OIDCKeyFile)); err != nil {
		t.Errorf("key not created in IMDSEMU_DATA_DIR: %v", err)
	}
}

func TestIdPCmd_SAML(t *testing.T) {
	dir := t.TempDir()
	md, err := runIdP(t, nil, "saml-metadata", "--data-dir", dir)
	if err != nil {
		t.Fatalf("idp saml-metadata: %v", err)
	}
	const provider = "arn:aws:iam::123456789012:saml-provider/imdsemu"
	const role = "arn:aws:iam::123456789012:role/saml-dev"
	out, err := runIdP(t, nil, "saml-assertion", "--data-dir", dir, "--role", role+","+provider,
		"--session-name", "alice", "--duration", "2h", "--tag", "team=blue", "--tag", "cost=42",
		"--transitive-tag-key", "team", "--source-identity", "alice")
	if err != nil {
		t.Fatalf("idp saml-assertion: %v", err)
	}
	a, err := federation.VerifySAML(strings.TrimSpace(out), federation.SAMLProvider{ARN: provider, MetadataXML: []byte(md)}, time.Now())
	if err != nil {
		t.Fatalf("VerifySAML: %v", err)
	}
	if !a.HasRole(role, provider) || a.SessionName != "alice" || a.SessionDuration != 2*time.Hour ||
		a.Tags["team"] != "blue" || a.Tags["cost"] != "42" || len(a.TransitiveTagKeys) != 1 || a.SourceIdentity != "alice" ||
		a.Issuer != federation.DefaultSAMLEntityID {
		t.Errorf("assertion = %+v", a)
	}
	// The metadata is stable across runs: same key and certificate.
	md2, err := runIdP(t, nil, "saml-metadata", "--data-dir", dir)
	if err != nil || md2 != md {
		t.Errorf("second saml-metadata differs (%v)", err)
	}
}

func TestIdPCmd_BadInput(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"token", "--data-dir", dir, "--aud", "a"}, `"sub" not set`},
		{[]string{"token", "--data-dir", dir, "--sub", "s"}, `"aud" not set`},
		{[]string{"token", "--data-dir", dir, "--sub", "s", "--aud", "a", "--claim", "novalue"}, "NAME=VALUE"},
		{[]string{"token", "--data-dir", dir, "--sub", "s", "--aud", "a", "--claim", "exp=1"}, `"exp"`},
		{[]string{"token", "--data-dir", dir, "--sub", "s", "--aud", "a", "--issuer", "not a url"}, "http(s) URL"},
		{[]string{"saml-assertion", "--data-dir", dir, "--session-name", "x"}, `"role" not set`},
		{[]string{"saml-assertion", "--data-dir", dir, "--role", "onlyrole", "--session-name", "x"}, "ROLE_ARN,PROVIDER_ARN"},
		{[]string{"saml-assertion", "--data-dir", dir, "--role", "r,p", "--session-name", "x", "--tag", "k"}, "KEY=VALUE"},
	}
	for _, tc := range cases {
		_, err := runIdP(t, nil, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("idp %v = %v, want an error containing %q", tc.args, err, tc.msg)
		}
	}
	if _, err := runIdP(t, nil, "token", "--sub", "s", "--aud", "a"); err == nil || !strings.Contains(err.Error(), "no data directory") {
		t.Errorf("idp token without any data dir = %v, want the no-data-directory error", err)
	}
}

// The well-known providers: an ID token as Google, an access token as
// Facebook, both verified by the stand-ins opened on the same data dir.
func TestIdPCmd_WellKnown(t *testing.T) {
	dir := t.TempDir()
	out, err := runIdP(t, nil, "token", "--data-dir", dir, "--provider", "google", "--sub", "1", "--aud", "app.apps.googleusercontent.com")
	if err != nil {
		t.Fatalf("idp token --provider google: %v", err)
	}
	web, err := federation.OpenWebIdPs(dir, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	c, p, err := federation.NewOIDCVerifier(federation.OIDCOptions{}).Verify(context.Background(), strings.TrimSpace(out), web.Providers())
	if err != nil || p.WellKnown != federation.ProviderGoogle || c.ClientID != "app.apps.googleusercontent.com" {
		t.Errorf("Verify: %v, %v", c, err)
	}
	out, err = runIdP(t, nil, "access-token", "--data-dir", dir, "--provider", "facebook", "--app-id", "123", "--user-id", "456")
	if err != nil {
		t.Fatalf("idp access-token: %v", err)
	}
	if ac, err := web.VerifyAccessToken(federation.ProviderFacebook, strings.TrimSpace(out)); err != nil || ac.AppID != "123" || ac.UserID != "456" {
		t.Errorf("VerifyAccessToken: %+v, %v", ac, err)
	}
	for _, args := range [][]string{
		{"token", "--data-dir", dir, "--provider", "facebook", "--sub", "1", "--aud", "a"},
		{"access-token", "--data-dir", dir, "--provider", "google", "--app-id", "1", "--user-id", "2"},
		{"access-token", "--data-dir", dir, "--provider", "twitter", "--app-id", "1", "--user-id", "2"},
	} {
		if _, err := runIdP(t, nil, args...); err == nil || !strings.Contains(err.Error(), "--provider") {
			t.Errorf("idp %v: err = %v, want a --provider error", args, err)
		}
	}
}
