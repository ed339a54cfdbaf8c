package federation

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Limits on the WebIdentityToken parameter of AssumeRoleWithWebIdentity.
const (
	MinTokenLength = 4
	MaxTokenLength = 20000
)

// notBeforeSkew is how far in the future a token's nbf may lie.
const notBeforeSkew = time.Minute

// allowedAlgorithms are the JWS algorithms accepted for ID tokens.
var allowedAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// OIDCProvider is an IAM OIDC identity provider: the issuer URL, the client
// IDs (audiences) it accepts, and optionally its keys.
type OIDCProvider struct {
	// URL is the issuer: https://host/path, as IAM stores it with or
	// without the https:// prefix, or http://127.0.0.1:PORT for a local
	// provider.
	URL string
	// ClientIDs are the accepted audiences: a token's aud or azp must be
	// one of them.
	ClientIDs []string
	// JWKS is an optional inline JWK Set (JSON). When nil, the keys are
	// fetched from the issuer's discovery document.
	JWKS []byte
	// WellKnown, when set, names the well-known provider (ProviderGoogle,
	// ProviderCognito) this entry stands in for. Such a provider has no
	// client IDs: every audience is accepted, and the trust policy's
	// PROVIDER:aud condition decides.
	WellKnown string
}

// WebIdentityClaims are the verified claims of an ID token.
type WebIdentityClaims struct {
	Issuer  string // iss, as the token has it
	Subject string // sub
	// Audience is aud; ClientID is the entry of the provider's ClientIDs
	// that matched aud or azp (STS's Audience in the response).
	Audience         []string
	ClientID         string
	Expiry, IssuedAt time.Time // exp, and iat (zero when absent)
	// Extra holds every other claim (amr, email, azp, custom claims,
	// https://aws.amazon.com/tags), as decoded by encoding/json.
	Extra map[string]any
}

// OIDCOptions configures an OIDCVerifier. The zero value is usable.
type OIDCOptions struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HTTPClient fetches discovery documents and key sets. nil means a
	// client that connects only to loopback addresses and ignores proxies;
	// leave it nil outside tests. Whatever the client, URLs other than
	// loopback and localhost are refused before any request is made.
	HTTPClient *http.Client
	// CacheTTL is how long fetched keys are used; 0 means DefaultCacheTTL.
	CacheTTL time.Duration
}

// OIDCVerifier verifies OIDC ID tokens for AssumeRoleWithWebIdentity. It is
// safe for concurrent use.
type OIDCVerifier struct {
	now   func() time.Time
	cache *keyCache
}

// NewOIDCVerifier returns a verifier with an empty key cache.
func NewOIDCVerifier(opts OIDCOptions) *OIDCVerifier {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	client := opts.HTTPClient
	if client == nil {
		client = defaultHTTPClient()
	}
	ttl := opts.CacheTTL
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	return &OIDCVerifier{
		now: now,
		cache: &keyCache{
			client:  guardedClient(client),
			now:     now,
			ttl:     ttl,
			entries: map[string]cacheEntry{},
		},
	}
}

// Verify checks token against providers (the OIDC providers of the role's
// account) and returns its claims and the provider that issued it, which
// points into providers. Errors are *Error:
//
//   - ValidationError: the token is shorter than 4 or longer than 20000 characters.
//   - InvalidIdentityToken: not a JWT; alg other than RS256/ES256 (none
//     included); no provider for iss; no key for the token; bad signature;
//     aud/azp not among the client IDs; no exp or sub; nbf in the future.
//   - ExpiredTokenException: exp has passed.
//   - IDPCommunicationError: the provider's keys could not be fetched, or its
//     URL is not a loopback one.
func (v *OIDCVerifier) Verify(ctx context.Context, token string, providers []OIDCProvider) (WebIdentityClaims, *OIDCProvider, error) {
	if n := len(token); n < MinTokenLength || n > MaxTokenLength {
		return WebIdentityClaims{}, nil, newError(CodeValidation,
			"1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length between %d and %d (it has %d)",
			MinTokenLength, MaxTokenLength, n)
	}
	tok, err := jwt.ParseSigned(token, allowedAlgorithms)
	if err != nil {
		if alg, ok := headerAlg(token); ok && !slices.Contains(allowedAlgorithms, jose.SignatureAlgorithm(alg)) {
			return WebIdentityClaims{}, nil, invalidToken("The ID Token is signed with alg %q; only RS256 and ES256 are accepted", short(alg))
		}
		return WebIdentityClaims{}, nil, invalidToken("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
	}
	if len(tok.Headers) != 1 {
		return WebIdentityClaims{}, nil, invalidToken("The ID Token provided is not a valid JWT: it must have exactly one signature")
	}
	header := tok.Headers[0]
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return WebIdentityClaims{}, nil, invalidToken("The ID Token provided is not a valid JWT: its claims are not a valid JSON object")
	}
	if unverified.Issuer == "" {
		return WebIdentityClaims{}, nil, invalidToken("The ID Token has no iss claim")
	}
	p := findProvider(providers, unverified.Issuer)
	if p == nil {
		return WebIdentityClaims{}, nil, invalidToken("No OpenIDConnect provider found in your account for %s", short(unverified.Issuer))
	}

	std, all, err := v.verifySignature(ctx, tok, header, p)
	if err != nil {
		return WebIdentityClaims{}, nil, err
	}
	return v.checkClaims(std, all, p)
}

// verifySignature finds the provider's key for the token and verifies the
// signature, fetching the keys again once if the cached set lacks the key.
func (v *OIDCVerifier) verifySignature(ctx context.Context, tok *jwt.JSONWebToken, header jose.Header, p *OIDCProvider) (jwt.Claims, map[string]any, error) {
	var std jwt.Claims
	var all map[string]any
	found := false
	for attempt := 0; attempt < 2; attempt++ {
		var keys []jose.JSONWebKey
		var err error
		if p.JWKS != nil {
			if attempt > 0 {
				break
			}
			if keys, err = parseJWKS(p.JWKS); err != nil {
				return std, nil, invalidToken("The JWKS registered for the OpenIDConnect provider %s is not usable: %v", p.URL, err)
			}
		} else if keys, err = v.cache.keys(ctx, providerBase(p.URL), attempt > 0); err != nil {
			return std, nil, err
		}
		cands := candidateKeys(keys, header)
		found = found || len(cands) > 0
		for _, k := range cands {
			std, all = jwt.Claims{}, nil
			if tok.Claims(k.Key, &std, &all) == nil {
				return std, all, nil
			}
		}
		// A known kid whose key does not verify is a bad signature, not a
		// rotation: fetch again only for an unknown kid, or when the
		// token names no key.
		if len(cands) > 0 && header.KeyID != "" {
			break
		}
	}
	if !found && header.KeyID != "" {
		return std, nil, invalidToken("The ID Token's signature could not be verified: the OpenIDConnect provider %s has no %s key with kid %q", p.URL, header.Algorithm, short(header.KeyID))
	}
	return std, nil, invalidToken("The ID Token's signature could not be verified with the keys of the OpenIDConnect provider %s", p.URL)
}

// candidateKeys are the keys that may have signed a token with header h:
// those with its kid (all, when it has none) whose type fits its alg.
func candidateKeys(keys []jose.JSONWebKey, h jose.Header) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range keys {
		if h.KeyID != "" && k.KeyID != h.KeyID {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != h.Algorithm {
			continue
		}
		out = append(out, k)
	}
	return out
}

// checkClaims applies STS's claim rules to a verified token.
func (v *OIDCVerifier) checkClaims(std jwt.Claims, all map[string]any, p *OIDCProvider) (WebIdentityClaims, *OIDCProvider, error) {
	now := v.now()
	if std.Expiry == nil {
		return WebIdentityClaims{}, nil, invalidToken("The ID Token has no exp claim")
	}
	exp := std.Expiry.Time()
	if !now.Before(exp) {
		return WebIdentityClaims{}, nil, expiredError(now.Unix(), exp.Unix())
	}
	if std.NotBefore != nil && now.Add(notBeforeSkew).Before(std.NotBefore.Time()) {
		return WebIdentityClaims{}, nil, invalidToken("The ID Token is not valid yet: its nbf (%d) is after the current date/time (%d)", int64(*std.NotBefore), now.Unix())
	}
	clientID := ""
	if p.WellKnown != "" {
		clientID = wellKnownAudience(p.WellKnown, std.Audience, all)
	} else {
		clientID = matchClientID(p.ClientIDs, std.Audience, all)
	}
	if clientID == "" {
		return WebIdentityClaims{}, nil, invalidToken("Incorrect token audience")
	}
	if std.Subject == "" {
		return WebIdentityClaims{}, nil, invalidToken("The ID Token has no sub claim")
	}
	c := WebIdentityClaims{
		Issuer:   std.Issuer,
		Subject:  std.Subject,
		Audience: []string(std.Audience),
		ClientID: clientID,
		Expiry:   exp,
		Extra:    map[string]any{},
	}
	if std.IssuedAt != nil {
		c.IssuedAt = std.IssuedAt.Time()
	}
	for k, val := range all {
		switch k {
		case "iss", "sub", "aud", "exp", "iat":
		default:
			c.Extra[k] = val
		}
	}
	return c, p, nil
}

// matchClientID is the entry of clientIDs that one of aud, else azp, is;
// empty when none is.
func matchClientID(clientIDs, aud []string, all map[string]any) string {
	for _, a := range aud {
		if slices.Contains(clientIDs, a) {
			return a
		}
	}
	if azp, ok := all["azp"].(string); ok && azp != "" && slices.Contains(clientIDs, azp) {
		return azp
	}
	return ""
}

// findProvider returns the provider whose URL is iss, comparing without
// an https:// prefix and a trailing slash, as IAM stores provider URLs
// without the scheme.
func findProvider(providers []OIDCProvider, iss string) *OIDCProvider {
	want := normalizeIssuer(iss)
	for i := range providers {
		if providers[i].URL != "" && normalizeIssuer(providers[i].URL) == want {
			return &providers[i]
		}
	}
	return nil
}

func normalizeIssuer(s string) string {
	if len(s) >= len("https://") && strings.EqualFold(s[:len("https://")], "https://") {
		s = s[len("https://"):]
	}
	return strings.TrimSuffix(s, "/")
}

// providerBase is the URL the provider's discovery document hangs off:
// its URL, with https:// added when it has no scheme.
func providerBase(u string) string {
	if strings.Contains(u, "://") {
		return strings.TrimSuffix(u, "/")
	}
	return "https://" + strings.TrimSuffix(u, "/")
}

// short truncates an untrusted value for an error message.
func short(s string) string {
	const limit = 256
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}

// headerAlg reads the alg of a compact JWS's protected header, without
// trusting anything else in it.
func headerAlg(token string) (string, bool) {
	h, _, ok := strings.Cut(token, ".")
	if !ok {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(h, "="))
	if err != nil {
		return "", false
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &hdr) != nil {
		return "", false
	}
	return hdr.Alg, true
}
