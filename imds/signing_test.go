package imds_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/imds"
)

// One RSA key for the package's tests: generating one takes a while.
var identityKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func testIdentityKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := identityKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testIdentityCert(t testing.TB, key *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4242),
		Subject:      pkix.Name{CommonName: "imdsemu instance identity (test)"},
		NotBefore:    t0.Add(-time.Hour),
		NotAfter:     t0.Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// The PKCS #7 structures as a verifier reads them.
type p7ContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type p7AlgID struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type p7SignedData struct {
	Version          int
	DigestAlgorithms []p7AlgID `asn1:"set"`
	ContentInfo      struct{ ContentType asn1.ObjectIdentifier }
	Certificates     asn1.RawValue  `asn1:"optional,tag:0"`
	SignerInfos      []p7SignerInfo `asn1:"set"`
}

type p7SignerInfo struct {
	Version               int
	IssuerAndSerialNumber struct {
		Issuer asn1.RawValue
		Serial *big.Int
	}
	DigestAlgorithm           p7AlgID
	AuthenticatedAttributes   asn1.RawValue `asn1:"tag:0"`
	DigestEncryptionAlgorithm p7AlgID
	EncryptedDigest           []byte
}

type p7Attribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

func unwrap64(t *testing.T, body string) []byte {
	t.Helper()
	for i, line := range strings.Split(body, "\n") {
		if len(line) > 64 {
			t.Errorf("line %d is %d characters, want at most 64", i+1, len(line))
		}
	}
	b, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(body, "\n", ""))
	if err != nil {
		t.Fatalf("not base64: %v", err)
	}
	return b
}

func TestServer_SignedIdentityDocument(t *testing.T) {
	key := testIdentityKey(t)
	cert := testIdentityCert(t, key)
	f := newFixture(t, func(o *imds.Options) {
		o.IdentityKey = key
		o.IdentityCertificate = cert
	})
	doc := f.do(t, "GET", "/latest/dynamic/instance-identity/document").Body.Bytes()
	if got := f.do(t, "GET", "/latest/dynamic/instance-identity/").Body.String(); got != "document\npkcs7\nrsa2048\nsignature" {
		t.Errorf("instance-identity/ = %q", got)
	}
	sum := sha256.Sum256(doc)

	t.Run("signature", func(t *testing.T) {
		w := f.do(t, "GET", "/latest/dynamic/instance-identity/signature")
		if w.Code != 200 || w.Header().Get("Content-Type") != "text/plain" {
			t.Fatalf("GET signature = %d %s", w.Code, w.Header().Get("Content-Type"))
		}
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], unwrap64(t, w.Body.String())); err != nil {
			t.Errorf("signature does not verify over the document: %v", err)
		}
	})
	for _, name := range []string{"pkcs7", "rsa2048"} {
		t.Run(name, func(t *testing.T) {
			w := f.do(t, "GET", "/latest/dynamic/instance-identity/"+name)
			if w.Code != 200 {
				t.Fatalf("GET %s = %d", name, w.Code)
			}
			verifyPKCS7(t, unwrap64(t, w.Body.String()), doc, cert)
		})
	}

	other := testIdentityCert(t, key)
	wrongKey := *key
	wrongKey.PublicKey.N = new(big.Int).Add(key.N, big.NewInt(2))
	_, err := imds.New(imds.Options{Credentials: f.src, TokenKey: testKey, IdentityKey: &wrongKey, IdentityCertificate: other})
	if err == nil {
		t.Error("New with a certificate of another key = nil error")
	}
}

// verifyPKCS7 checks p7 as openssl smime -verify would: a detached
// SignedData whose signer is cert, whose messageDigest is the content's
// SHA-256, and whose signature over the authenticated attributes verifies.
func verifyPKCS7(t *testing.T, p7, content []byte, cert *x509.Certificate) {
	t.Helper()
	var ci p7ContentInfo
	if rest, err := asn1.Unmarshal(p7, &ci); err != nil || len(rest) != 0 {
		t.Fatalf("ContentInfo: %v (%d trailing bytes)", err, len(rest))
	}
	if !ci.ContentType.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}) {
		t.Fatalf("contentType %v, want signedData", ci.ContentType)
	}
	var sd p7SignedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		t.Fatalf("SignedData: %v", err)
	}
	if sd.Version != 1 || len(sd.SignerInfos) != 1 || len(sd.DigestAlgorithms) != 1 {
		t.Fatalf("SignedData version %d, %d signers, %d digests; want 1, 1, 1", sd.Version, len(sd.SignerInfos), len(sd.DigestAlgorithms))
	}
	if !sd.ContentInfo.ContentType.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}) {
		t.Errorf("encapsulated contentType %v, want data (detached)", sd.ContentInfo.ContentType)
	}
	si := sd.SignerInfos[0]
	if !bytes.Equal(si.IssuerAndSerialNumber.Issuer.FullBytes, cert.RawIssuer) || si.IssuerAndSerialNumber.Serial.Cmp(cert.SerialNumber) != 0 {
		t.Error("issuerAndSerialNumber does not name the certificate")
	}
	if !si.DigestAlgorithm.Algorithm.Equal(asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}) {
		t.Errorf("digest algorithm %v, want SHA-256", si.DigestAlgorithm.Algorithm)
	}
	// The attributes, and the messageDigest among them.
	rest := si.AuthenticatedAttributes.Bytes
	var digest []byte
	seen := map[string]bool{}
	for len(rest) > 0 {
		var a p7Attribute
		var err error
		if rest, err = asn1.Unmarshal(rest, &a); err != nil {
			t.Fatalf("attribute: %v", err)
		}
		seen[a.Type.String()] = true
		if a.Type.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}) {
			if _, err := asn1.Unmarshal(a.Values[0].FullBytes, &digest); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, oid := range []string{"1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4", "1.2.840.113549.1.9.5"} {
		if !seen[oid] {
			t.Errorf("authenticated attribute %s missing", oid)
		}
	}
	want := sha256.Sum256(content)
	if !bytes.Equal(digest, want[:]) {
		t.Errorf("messageDigest %x, want SHA-256 of the document %x", digest, want)
	}
	// The signature covers the attributes re-tagged as a SET.
	set, err := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: si.AuthenticatedAttributes.Bytes})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(set)
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], si.EncryptedDigest); err != nil {
		t.Errorf("signature over the attributes does not verify: %v", err)
	}
}

func TestServer_OptionsHideIdentityKey(t *testing.T) {
	key := testIdentityKey(t)
	f := newFixture(t, func(o *imds.Options) {
		o.IdentityKey = key
		o.IdentityCertificate = testIdentityCert(t, key)
	})
	if o := f.srv.Options(); o.IdentityKey != nil || o.TokenKey != nil || o.IdentityCertificate == nil {
		t.Errorf("Options() IdentityKey %v, TokenKey %v, certificate %v; want only the certificate", o.IdentityKey != nil, o.TokenKey != nil, o.IdentityCertificate != nil)
	}
}
