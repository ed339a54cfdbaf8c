package instance

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/imdsemu/imdsemu/internal/atomicfile"
	"github.com/imdsemu/imdsemu/internal/keyfile"
)

// Files in the data directory.
const (
	SigningKeyFile  = "identity.key"   // RSA 2048, PKCS #8 PEM, 0600: signs the identity document
	SigningCertFile = "identity.crt"   // its self-signed certificate: what verifiers trust
	ECSTokenFile    = "ecs-auth.token" // AWS_CONTAINER_AUTHORIZATION_TOKEN for the ECS listener, 0600
)

// ecsTokenLen is the length of the generated ECS authorization token.
const ecsTokenLen = 40

// LoadOrCreateSigningKey returns the RSA 2048 key that signs the instance
// identity document and its self-signed certificate, creating both in dir
// the first time (the key mode 0600, linked into place so a crash leaves no
// half key). The certificate names account; now is its start.
func LoadOrCreateSigningKey(dir, account string, now time.Time) (*rsa.PrivateKey, *x509.Certificate, error) {
	keyPath, certPath := filepath.Join(dir, SigningKeyFile), filepath.Join(dir, SigningCertFile)
	key, err := loadSigningKey(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		var k *rsa.PrivateKey
		if k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, nil, fmt.Errorf("identity key: %w", err)
		}
		der, merr := x509.MarshalPKCS8PrivateKey(k)
		if merr != nil {
			return nil, nil, fmt.Errorf("identity key: %w", merr)
		}
		if werr := atomicfile.Create(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); werr != nil && !errors.Is(werr, fs.ErrExist) {
			return nil, nil, werr
		}
		key, err = loadSigningKey(keyPath) // another process may have won the race
		if err != nil {
			return nil, nil, err
		}
	} else if err != nil {
		return nil, nil, err
	}
	cert, err := loadCert(certPath)
	if err == nil && !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s is not the certificate of %s: remove it to have a new one made", certPath, keyPath)
	}
	if errors.Is(err, fs.ErrNotExist) {
		tmpl := &x509.Certificate{
			SerialNumber: new(big.Int).SetInt64(now.UnixNano()),
			Subject:      pkix.Name{Organization: []string{"imdsemu"}, CommonName: "imdsemu instance identity " + account},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.AddDate(20, 0, 0),
			KeyUsage:     x509.KeyUsageDigitalSignature,
		}
		der, cerr := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if cerr != nil {
			return nil, nil, fmt.Errorf("identity certificate: %w", cerr)
		}
		if werr := atomicfile.Create(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); werr != nil && !errors.Is(werr, fs.ErrExist) {
			return nil, nil, werr
		}
		cert, err = loadCert(certPath)
	}
	if err != nil {
		return nil, nil, err
	}
	return key, cert, nil
}

func loadSigningKey(path string) (*rsa.PrivateKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %v; it must not be readable by group or others (chmod 600 it)", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s is not a PEM \"PRIVATE KEY\"; remove it to have a new one made", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok || rk.N.BitLen() < 2048 {
		return nil, fmt.Errorf("%s must hold an RSA key of 2048 bits or more", path)
	}
	return rk, nil
}

func loadCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s is not a PEM certificate; remove it to have a new one made", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// LoadOrCreateECSToken returns the ECS container endpoint's authorization
// token kept in dir, creating it (40 letters and digits, mode 0600) the
// first time. It fits in AWS_CONTAINER_AUTHORIZATION_TOKEN unquoted.
func LoadOrCreateECSToken(dir string) (string, error) {
	tok, err := keyfile.LoadOrCreate(filepath.Join(dir, ECSTokenFile), ecsTokenLen, alnumReader{rand.Reader})
	return string(tok), err
}

// alnumReader turns random bytes into letters and digits, for a token that
// fits in an environment variable. It rejects bytes past the largest
// multiple of 62, so every character is equally likely.
type alnumReader struct{ r io.Reader }

func (a alnumReader) Read(p []byte) (int, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var one [1]byte
	for i := range p {
		for {
			if _, err := io.ReadFull(a.r, one[:]); err != nil {
				return i, err
			}
			if one[0] < 248 { // 4 × 62
				p[i] = alphabet[int(one[0])%62]
				break
			}
		}
	}
	return len(p), nil
}
