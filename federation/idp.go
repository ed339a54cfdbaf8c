package federation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DefaultIssuer is the issuer of the built-in OIDC provider when none is
// configured: the default address of imdsemu's STS listener, which serves
// the provider's discovery document and keys.
const DefaultIssuer = "http://127.0.0.1:1339"

// Paths of the built-in provider's documents, below the issuer's path.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	JWKSPath      = "/jwks"
)

// DefaultTokenTTL is the lifetime of a token minted with a zero ttl.
const DefaultTokenTTL = time.Hour

// IdPOptions configures the built-in OIDC provider.
type IdPOptions struct {
	// Issuer is the iss of minted tokens and the base of the discovery
	// document, e.g. http://127.0.0.1:1339 (the STS listener's URL).
	// Empty means DefaultIssuer.
	Issuer string
	// Key signs tokens: an *rsa.PrivateKey of at least 2048 bits (RS256) or
	// an *ecdsa.PrivateKey on P-256 (ES256). Required.
	Key crypto.Signer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand supplies token ids (jti); nil means crypto/rand.
	Rand io.Reader
}

// IdP is a minimal OpenID Connect provider for tests and demos: it mints ID
// tokens and serves the discovery document and JWKS that verify them. It is
// safe for concurrent use.
type IdP struct {
	issuer    string
	alg       jose.SignatureAlgorithm
	kid       string
	signer    jose.Signer
	now       func() time.Time
	rand      io.Reader
	jwks      []byte
	discovery []byte
	basePath  string
}

// NewIdP returns a provider signing with opts.Key. The key id is the key's
// RFC 7638 thumbprint, so it changes exactly when the key does.
func NewIdP(opts IdPOptions) (*IdP, error) {
	issuer := opts.Issuer
	if issuer == "" {
		issuer = DefaultIssuer
	}
	issuer = strings.TrimSuffix(issuer, "/")
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("federation: issuer %q must be an http(s) URL with a host and no query or fragment", issuer)
	}
	var alg jose.SignatureAlgorithm
	switch k := opts.Key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < RSAKeyBits {
			return nil, fmt.Errorf("federation: RSA key has %d bits; at least %d are required", k.N.BitLen(), RSAKeyBits)
		}
		alg = jose.RS256
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("federation: ECDSA key must be on P-256 (ES256)")
		}
		alg = jose.ES256
	case nil:
		return nil, errors.New("federation: IdPOptions.Key is required")
	default:
		return nil, fmt.Errorf("federation: unsupported key type %T; use an RSA or P-256 ECDSA private key", opts.Key)
	}
	pub := jose.JSONWebKey{Key: opts.Key.Public(), Algorithm: string(alg), Use: "sig"}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("federation: key thumbprint: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: opts.Key, KeyID: pub.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	if err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	discovery, err := json.Marshal(map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              issuer + JWKSPath,
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{string(alg)},
		"scopes_supported":                      []string{"openid"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "jti"},
	})
	if err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	r := opts.Rand
	if r == nil {
		r = rand.Reader
	}
	return &IdP{
		issuer:    issuer,
		alg:       alg,
		kid:       pub.KeyID,
		signer:    signer,
		now:       now,
		rand:      r,
		jwks:      jwks,
		discovery: discovery,
		basePath:  strings.TrimSuffix(u.EscapedPath(), "/"),
	}, nil
}

// Issuer is the iss of the tokens the provider mints.
func (p *IdP) Issuer() string { return p.issuer }

// KeyID is the kid of the provider's signing key.
func (p *IdP) KeyID() string { return p.kid }

// JWKS is the provider's JWK Set (JSON), as served at /jwks.
func (p *IdP) JWKS() []byte { return append([]byte(nil), p.jwks...) }

// Provider is the IAM OIDC provider entry that trusts this provider for the
// given client IDs. It carries the JWKS inline, so verifying needs no fetch
// and works wherever the handler is mounted.
func (p *IdP) Provider(clientIDs ...string) OIDCProvider {
	return OIDCProvider{URL: p.issuer, ClientIDs: append([]string(nil), clientIDs...), JWKS: p.JWKS()}
}

// Handler serves GET {issuer path}/.well-known/openid-configuration and GET
// {issuer path}/jwks. Mount it at the root of the listener whose URL is the
// issuer; other paths get 404.
func (p *IdP) Handler() http.Handler {
	mux := http.NewServeMux()
	serve := func(body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "public, max-age=300")
			w.Write(body)
		}
	}
	mux.Handle("GET "+p.basePath+DiscoveryPath, serve(p.discovery))
	mux.Handle("GET "+p.basePath+JWKSPath, serve(p.jwks))
	return mux
}

// reservedClaims are set by Token from its parameters.
var reservedClaims = []string{"iss", "sub", "aud", "exp", "iat", "jti"}

// Token mints an ID token for sub with audiences aud, valid for ttl from
// now (DefaultTokenTTL when zero; a negative ttl mints a token that has
// already expired, for testing). extra adds claims (amr, email, custom ones,
// "https://aws.amazon.com/tags"); it may not set iss, sub, aud, exp, iat or
// jti.
func (p *IdP) Token(sub string, aud []string, ttl time.Duration, extra map[string]any) (string, error) {
	if sub == "" {
		return "", errors.New("federation: token subject (sub) is required")
	}
	if len(aud) == 0 {
		return "", errors.New("federation: at least one audience (aud) is required")
	}
	for _, k := range reservedClaims {
		if _, ok := extra[k]; ok {
			return "", fmt.Errorf("federation: claim %q is set from Token's parameters, not from extra claims", k)
		}
	}
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	var id [16]byte
	if _, err := io.ReadFull(p.rand, id[:]); err != nil {
		return "", fmt.Errorf("federation: token id: %w", err)
	}
	now := p.now()
	std := jwt.Claims{
		Issuer:   p.issuer,
		Subject:  sub,
		Audience: jwt.Audience(aud),
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(ttl)),
		ID:       hex.EncodeToString(id[:]),
	}
	b := jwt.Signed(p.signer).Claims(std)
	if len(extra) > 0 {
		b = b.Claims(extra)
	}
	tok, err := b.Serialize()
	if err != nil {
		return "", fmt.Errorf("federation: sign token: %w", err)
	}
	return tok, nil
}
