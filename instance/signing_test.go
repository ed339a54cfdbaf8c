package instance

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrCreateSigningKey(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	key, cert, err := LoadOrCreateSigningKey(dir, "123456789012", now)
	if err != nil {
		t.Fatal(err)
	}
	if key.N.BitLen() != 2048 || !key.PublicKey.Equal(cert.PublicKey) {
		t.Errorf("key %d bits, certificate matches: %t", key.N.BitLen(), key.PublicKey.Equal(cert.PublicKey))
	}
	info, err := os.Stat(filepath.Join(dir, SigningKeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("identity.key mode = %v (%v), want 0600", info.Mode().Perm(), err)
	}
	if !strings.Contains(cert.Subject.CommonName, "123456789012") || cert.NotAfter.Before(now.AddDate(10, 0, 0)) {
		t.Errorf("certificate %q valid until %v", cert.Subject.CommonName, cert.NotAfter)
	}

	// The second start reuses both.
	key2, cert2, err := LoadOrCreateSigningKey(dir, "123456789012", now.Add(time.Hour))
	if err != nil || !key2.Equal(key) || !bytes.Equal(cert2.Raw, cert.Raw) {
		t.Errorf("second load: %v, same key %t, same certificate %t", err, key2.Equal(key), bytes.Equal(cert2.Raw, cert.Raw))
	}

	// A lost certificate is remade for the same key.
	os.Remove(filepath.Join(dir, SigningCertFile))
	_, cert3, err := LoadOrCreateSigningKey(dir, "123456789012", now)
	if err != nil || !key.PublicKey.Equal(cert3.PublicKey) {
		t.Errorf("remade certificate: %v", err)
	}

	// A certificate of another key, and a key others can read, are refused.
	other := t.TempDir()
	if _, _, err := LoadOrCreateSigningKey(other, "123456789012", now); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(other, SigningCertFile))
	if err := os.WriteFile(filepath.Join(dir, SigningCertFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateSigningKey(dir, "123456789012", now); err == nil || !strings.Contains(err.Error(), "is not the certificate of") {
		t.Errorf("mismatched certificate: %v", err)
	}
	if err := os.Chmod(filepath.Join(other, SigningKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateSigningKey(other, "123456789012", now); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("group-readable key: %v", err)
	}
}

func TestAlnumReader(t *testing.T) {
	var src bytes.Buffer
	for i := range 1024 {
		src.WriteByte(byte(i))
	}
	buf := make([]byte, 900)
	n, err := alnumReader{&src}.Read(buf)
	if err != nil || n != len(buf) {
		t.Fatalf("Read = %d, %v", n, err)
	}
	for _, c := range buf {
		if !isAlnum(c) {
			t.Fatalf("byte %q is not a letter or digit", c)
		}
	}
	// Bytes 248–255 are skipped: 1024 source bytes make 992 characters.
	if n, _ := (alnumReader{bytes.NewReader(make([]byte, 8))}).Read(make([]byte, 9)); n != 8 {
		t.Errorf("Read past the source = %d, want 8", n)
	}
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func TestLoadOrCreateECSToken(t *testing.T) {
	dir := t.TempDir()
	tok, err := LoadOrCreateECSToken(dir)
	if err != nil || len(tok) != ecsTokenLen || strings.IndexFunc(tok, func(r rune) bool { return r > 127 || !isAlnum(byte(r)) }) >= 0 {
		t.Fatalf("LoadOrCreateECSToken = %q, %v; want %d letters and digits", tok, err, ecsTokenLen)
	}
	again, err := LoadOrCreateECSToken(dir)
	if err != nil || again != tok {
		t.Errorf("second start: %v, same token %t", err, again == tok)
	}
	if info, err := os.Stat(filepath.Join(dir, ECSTokenFile)); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, %v; want mode 0600", ECSTokenFile, info.Mode().Perm(), err)
	}
}
