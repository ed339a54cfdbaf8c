package imds

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"sort"
	"time"
)

// The identity document is signed three ways, rendered on the first request
// for one of them (the RSA signatures cost milliseconds an instance that is
// never asked need not spend):
//
//   - signature: base64 of an RSA PKCS #1 v1.5 SHA-256 signature over the
//     document's bytes ("Base64-encoded SHA256 hash and RSA signature").
//   - pkcs7 and rsa2048: a detached PKCS #7 (RFC 2315) SignedData over the
//     document, SHA-256 with RSA, with the authenticated attributes
//     contentType, signingTime and messageDigest, and without the
//     certificate, which verifiers supply themselves, as they do for AWS's.
//     On EC2 pkcs7 is DSA/SHA-1 and rsa2048 RSA/SHA-256; here both are
//     RSA/SHA-256, so they are the same bytes.
//
// All three are base64 in lines of 64 characters with no PEM armour, as
// IMDS sends them. openssl verifies the PKCS #7 form with
//
//	openssl smime -verify -binary -inform PEM -noverify -certfile identity.crt \
//	  -content document -in <(printf -- '-----BEGIN PKCS7-----\n%s\n-----END PKCS7-----\n' "$(cat pkcs7)")
//
// A verifier must trust the certificate (Options.IdentityCertificate; the
// CLI keeps it in its data directory), not any certificate a client offers.

// Object identifiers (RFC 2315, RFC 2985, RFC 5754, RFC 8017).
var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
)

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue
}

type issuerAndSerialNumber struct {
	Issuer       asn1.RawValue
	SerialNumber *big.Int
}

type signerInfo struct {
	Version                   int
	IssuerAndSerialNumber     issuerAndSerialNumber
	DigestAlgorithm           algorithmIdentifier
	AuthenticatedAttributes   asn1.RawValue // [0] IMPLICIT SET OF Attribute
	DigestEncryptionAlgorithm algorithmIdentifier
	EncryptedDigest           []byte
}

// detachedContentInfo is a ContentInfo without content.
type detachedContentInfo struct {
	ContentType asn1.ObjectIdentifier
}

type signedData struct {
	Version          int
	DigestAlgorithms []algorithmIdentifier `asn1:"set"`
	ContentInfo      detachedContentInfo
	SignerInfos      []signerInfo `asn1:"set"`
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue // [0] EXPLICIT
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

// checkIdentityKey checks that key is an RSA key and cert its certificate.
func checkIdentityKey(key crypto.Signer, cert *x509.Certificate) error {
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("imds: Options.IdentityKey is %T, want an RSA key", key.Public())
	}
	if certPub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(certPub) {
		return errors.New("imds: Options.IdentityCertificate is not the certificate of Options.IdentityKey")
	}
	return nil
}

// signedDocs are the signed forms of the identity document.
type signedDocs struct {
	pkcs7, signature []byte // rsa2048 is pkcs7
}

// serveSigned answers pkcs7, rsa2048 and signature under
// dynamic/instance-identity/, signing the document on the first request;
// 404 without an identity key.
func (s *Server) serveSigned(w http.ResponseWriter, r *http.Request, _ string) int {
	if s.key == nil {
		return writeError(w, r, http.StatusNotFound)
	}
	d := s.signed.Load()
	if d == nil {
		var err error
		if d, err = s.sign(); err != nil {
			s.log.LogAttrs(r.Context(), slog.LevelError, "imds: signing the identity document", slog.Any("error", err))
			return writeError(w, r, http.StatusInternalServerError)
		}
		s.signed.CompareAndSwap(nil, d)
	}
	if r.URL.Path == routeIdentitySignature {
		return writeText(w, r, d.signature)
	}
	return writeText(w, r, d.pkcs7)
}

// sign renders the signed forms of the identity document.
func (s *Server) sign() (*signedDocs, error) {
	doc := s.docs().identityDocument
	sum := sha256.Sum256(doc)
	sig, err := s.key.Sign(s.rand, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("imds: signing the identity document: %w", err)
	}
	p7, err := pkcs7Detached(doc, s.key, s.cert, s.inst.PendingTime, s.rand)
	if err != nil {
		return nil, err
	}
	return &signedDocs{signature: wrap64(sig), pkcs7: wrap64(p7)}, nil
}

// pkcs7Detached returns the DER of a detached PKCS #7 SignedData over
// content, signed with key (RSA, SHA-256) as cert's subject.
func pkcs7Detached(content []byte, key crypto.Signer, cert *x509.Certificate, at time.Time, rand io.Reader) ([]byte, error) {
	digest := sha256.Sum256(content)
	attrs, err := authenticatedAttributes(digest[:], at)
	if err != nil {
		return nil, err
	}
	// The signature covers the attributes' DER with the universal SET tag,
	// not the [0] IMPLICIT tag they carry in SignerInfo (RFC 2315 9.3).
	setDER, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: attrs})
	if err != nil {
		return nil, fmt.Errorf("imds: pkcs7: %w", err)
	}
	attrSum := sha256.Sum256(setDER)
	sig, err := key.Sign(rand, attrSum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("imds: pkcs7: signing: %w", err)
	}
	sha256Alg := algorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue}
	sd := signedData{
		Version:          1,
		DigestAlgorithms: []algorithmIdentifier{sha256Alg},
		ContentInfo:      detachedContentInfo{ContentType: oidData},
		SignerInfos: []signerInfo{{
			Version:                   1,
			IssuerAndSerialNumber:     issuerAndSerialNumber{Issuer: asn1.RawValue{FullBytes: cert.RawIssuer}, SerialNumber: cert.SerialNumber},
			DigestAlgorithm:           sha256Alg,
			AuthenticatedAttributes:   asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: attrs},
			DigestEncryptionAlgorithm: algorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue},
			EncryptedDigest:           sig,
		}},
	}
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("imds: pkcs7: %w", err)
	}
	out, err := asn1.Marshal(contentInfo{
		ContentType: oidSignedData,
		Content:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdDER},
	})
	if err != nil {
		return nil, fmt.Errorf("imds: pkcs7: %w", err)
	}
	return out, nil
}

// authenticatedAttributes returns the concatenated DER of the contentType,
// signingTime and messageDigest attributes, in the order DER requires for
// the members of a SET OF (by their encodings).
func authenticatedAttributes(digest []byte, at time.Time) ([]byte, error) {
	value := func(v any) (asn1.RawValue, error) {
		der, err := asn1.Marshal(v)
		return asn1.RawValue{FullBytes: der}, err
	}
	ct, err1 := value(oidData)
	// UTCTime, as RFC 5652 11.3 asks for dates from 1950 to 2049.
	st, err2 := asn1.MarshalWithParams(at.UTC(), "utc")
	md, err3 := value(digest)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("imds: pkcs7 attributes: %w", err)
	}
	var encoded [][]byte
	for _, a := range []attribute{
		{Type: oidContentType, Values: []asn1.RawValue{ct}},
		{Type: oidSigningTime, Values: []asn1.RawValue{{FullBytes: st}}},
		{Type: oidMessageDigest, Values: []asn1.RawValue{md}},
	} {
		der, err := asn1.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("imds: pkcs7 attributes: %w", err)
		}
		encoded = append(encoded, der)
	}
	sort.Slice(encoded, func(i, j int) bool { return bytes.Compare(encoded[i], encoded[j]) < 0 })
	return bytes.Join(encoded, nil), nil
}

// wrap64 returns base64 of b in lines of 64 characters.
func wrap64(b []byte) []byte {
	s := base64.StdEncoding.EncodeToString(b)
	var out []byte
	for len(s) > 64 {
		out = append(out, s[:64]...)
		out = append(out, '\n')
		s = s[64:]
	}
	return append(out, s...)
}
