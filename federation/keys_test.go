package federation

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateRSAKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "idp-oidc.key")
	k1, err := LoadOrCreateRSAKey(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", info.Mode().Perm())
	}
	if k1.N.BitLen() != RSAKeyBits {
		t.Errorf("key has %d bits, want %d", k1.N.BitLen(), RSAKeyBits)
	}
	k2, err := LoadOrCreateRSAKey(path)
	if err != nil || !k1.Equal(k2) {
		t.Fatalf("second LoadOrCreateRSAKey = %v; want the same key", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only the key (no temporary files)", len(entries))
	}

	// PKCS #1 keys written by other tools load too.
	pkcs1 := filepath.Join(dir, "pkcs1.key")
	os.WriteFile(pkcs1, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey(t, 1))}), 0o600)
	if k, err := LoadOrCreateRSAKey(pkcs1); err != nil || !k.Equal(rsaKey(t, 1)) {
		t.Errorf("LoadOrCreateRSAKey(PKCS #1) = %v", err)
	}

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(small)
	bad := []struct {
		name, data string
		mode       os.FileMode
		msg        string
	}{
		{"world readable", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), 0o644, "chmod 600"},
		{"small key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), 0o600, "at least 2048"},
		{"not PEM", "garbage", 0o600, "no PEM block"},
		{"certificate", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})), 0o600, "CERTIFICATE"},
	}
	for _, tc := range bad {
		p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
		if err := os.WriteFile(p, []byte(tc.data), tc.mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, tc.mode)
		if _, err := LoadOrCreateRSAKey(p); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("LoadOrCreateRSAKey(%s) = %v, want an error containing %q", tc.name, err, tc.msg)
		}
	}
}

// Two processes (here goroutines) creating the key at once end up with the
// same key.
func TestLoadOrCreateRSAKey_Concurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	keys := make([]*rsa.PrivateKey, 2)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := LoadOrCreateRSAKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	if keys[0] == nil || !keys[0].Equal(keys[1]) {
		t.Error("concurrent LoadOrCreateRSAKey returned different keys")
	}
}

func TestLoadOrCreateCertificate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "idp-saml.crt")
	key := rsaKey(t, 0)
	c1, err := LoadOrCreateCertificate(path, key, "imdsemu", t0)
	if err != nil {
		t.Fatal(err)
	}
	if c1.Subject.CommonName != "imdsemu" || !c1.NotBefore.Before(t0) || !c1.NotAfter.After(t0.AddDate(9, 0, 0)) {
		t.Errorf("certificate %v valid %v..%v", c1.Subject, c1.NotBefore, c1.NotAfter)
	}
	c2, err := LoadOrCreateCertificate(path, key, "other", t0)
	if err != nil || !c1.Equal(c2) {
		t.Fatalf("second LoadOrCreateCertificate = %v; want the stored certificate", err)
	}
	if _, err := LoadOrCreateCertificate(path, rsaKey(t, 1), "imdsemu", t0); err == nil || !strings.Contains(err.Error(), "not for the key") {
		t.Errorf("LoadOrCreateCertificate with another key = %v, want a mismatch error", err)
	}
}
