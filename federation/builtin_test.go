package federation

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The built-in providers keep their keys in the data directory: opening
// them again signs with the same key and certificate.
func TestOpenBuiltInProviders(t *testing.T) {
	dir := t.TempDir()
	clock := newClock()
	a, err := OpenIdP(dir, DefaultIssuer, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenIdP(dir, DefaultIssuer, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if a.kid != b.kid || !bytes.Equal(a.JWKS(), b.JWKS()) {
		t.Error("the reopened OIDC provider signs with another key")
	}
	s1, err := OpenSAMLIdP(dir, "", clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := OpenSAMLIdP(dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s1.entityID != DefaultSAMLEntityID || !s1.cert.Equal(s2.cert) || !bytes.Equal(s1.Metadata(), s2.Metadata()) {
		t.Errorf("the reopened SAML IdP differs (entity %q)", s1.entityID)
	}
	for file, mode := range map[string]os.FileMode{OIDCKeyFile: 0o600, SAMLKeyFile: 0o600, SAMLCertFile: 0o644} {
		info, err := os.Stat(filepath.Join(dir, file))
		if err != nil || info.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v; want %v", file, err, info.Mode().Perm(), mode)
		}
	}
	if _, err := OpenIdP(filepath.Join(dir, "absent"), DefaultIssuer, clock.Now); err == nil {
		t.Error("OpenIdP in a missing directory succeeded")
	}
}

func TestParseClaims(t *testing.T) {
	got, err := ParseClaims([]string{"email=dev@example.com", `amr=["pwd","mfa"]`, "n=3", "empty=", `tags={"team":["blue"]}`})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"email": "dev@example.com", "amr": []any{"pwd", "mfa"}, "n": float64(3), "empty": "", "tags": map[string]any{"team": []any{"blue"}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseClaims (-want +got):\n%s", d)
	}
	for _, bad := range []string{"novalue", "=x"} {
		if _, err := ParseClaims([]string{bad}); err == nil || !strings.Contains(err.Error(), "want NAME=VALUE") {
			t.Errorf("ParseClaims(%q) = %v", bad, err)
		}
	}
}
