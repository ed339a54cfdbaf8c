package federation

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/imdsemu/imdsemu/internal/atomicfile"
)

// RSAKeyBits is the size of the RSA keys LoadOrCreateRSAKey generates, and
// the smallest it accepts.
const RSAKeyBits = 2048

// certValidity is the lifetime of a generated self-signed certificate.
const certValidity = 10 * 365 * 24 * time.Hour

// LoadOrCreateRSAKey returns the RSA private key stored as PEM at path,
// generating a 2048-bit key and writing it (PKCS #8, mode 0600) the first
// time. The file is written to a temporary name and linked into place, so a
// crash never leaves a partial key and two processes starting at once end up
// with the same key. A key file readable by group or others is refused.
func LoadOrCreateRSAKey(path string) (*rsa.PrivateKey, error) {
	key, err := loadRSAKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key, err = rsa.GenerateKey(rand.Reader, RSAKeyBits)
	if err != nil {
		return nil, fmt.Errorf("federation: generate %s: %w", filepath.Base(path), err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	created, err := createOnce(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	if err != nil {
		return nil, err
	}
	if !created {
		return loadRSAKey(path)
	}
	return key, nil
}

func loadRSAKey(path string) (*rsa.PrivateKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("federation: %s has mode %v; it must not be readable by group or others (chmod 600 it)", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("federation: %s holds no PEM block; remove it to generate a new key", path)
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("federation: %s holds a %q PEM block, want PRIVATE KEY or RSA PRIVATE KEY", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("federation: %s: %w", path, err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("federation: %s holds a %T, want an RSA key", path, key)
	}
	if rk.N.BitLen() < RSAKeyBits {
		return nil, fmt.Errorf("federation: %s holds a %d-bit RSA key; at least %d bits are required", path, rk.N.BitLen(), RSAKeyBits)
	}
	return rk, nil
}

// LoadOrCreateCertificate returns the PEM certificate stored at path, which
// must be for key's public key. The first time it creates a self-signed
// certificate for key with the given common name, valid from an hour before
// now for ten years, and writes it with mode 0644.
func LoadOrCreateCertificate(path string, key *rsa.PrivateKey, commonName string, now time.Time) (*x509.Certificate, error) {
	cert, err := loadCertificate(path, key)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return cert, err
	}
	cert, err = SelfSignedCertificate(key, commonName, now)
	if err != nil {
		return nil, err
	}
	created, err := createOnce(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
	if err != nil {
		return nil, err
	}
	if !created {
		return loadCertificate(path, key)
	}
	return cert, nil
}

// SelfSignedCertificate makes a self-signed signing certificate for key,
// valid from an hour before now for ten years.
func SelfSignedCertificate(key *rsa.PrivateKey, commonName string, now time.Time) (*x509.Certificate, error) {
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	ski := sha256.Sum256(pub)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"imdsemu"}},
		NotBefore:             now.Add(-time.Hour).UTC(),
		NotAfter:              now.Add(certValidity).UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		SubjectKeyId:          ski[:20],
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("federation: self-signed certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

func loadCertificate(path string, key *rsa.PrivateKey) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("federation: %s holds no PEM CERTIFICATE; remove it to generate a new one", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("federation: %s: %w", path, err)
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, fmt.Errorf("federation: the certificate %s is not for the key beside it; remove it to generate a new one", path)
	}
	return cert, nil
}

// createOnce writes data to path unless path exists. It reports whether it
// created the file; false means another writer got there first.
func createOnce(path string, data []byte, mode os.FileMode) (bool, error) {
	err := atomicfile.Create(path, data, mode)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrExist):
		return false, nil
	default:
		return false, fmt.Errorf("federation: %w", err)
	}
}
