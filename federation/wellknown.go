package federation

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/internal/keyfile"
)

// The web identity providers AWS STS accepts without an IAM identity
// provider entity in the account. A trust policy names them bare, as
// {"Federated": "accounts.google.com"}, and their condition keys use the
// same prefix (accounts.google.com:aud, graph.facebook.com:app_id, …).
// Google and Cognito issue OpenID Connect ID tokens; Facebook and Login
// with Amazon issue OAuth 2.0 access tokens, which the caller names with
// AssumeRoleWithWebIdentity's ProviderId parameter.
const (
	ProviderGoogle   = "accounts.google.com"
	ProviderCognito  = "cognito-identity.amazonaws.com"
	ProviderFacebook = "graph.facebook.com"
	ProviderAmazon   = "www.amazon.com"
)

// Files of the built-in stand-ins for the well-known providers in the data
// directory.
const (
	// WebIdPKeyFile is the RSA key that signs the Google and Cognito ID tokens.
	WebIdPKeyFile = "idp-web.key"
	// OAuthKeyFile is the AES-256 key that seals the Facebook and Amazon
	// access tokens.
	OAuthKeyFile = "idp-oauth.key"
)

// IsWellKnown reports whether name is one of the four well-known providers.
func IsWellKnown(name string) bool {
	switch name {
	case ProviderGoogle, ProviderCognito, ProviderFacebook, ProviderAmazon:
		return true
	}
	return false
}

// LookupWellKnown returns the well-known provider named name: its host
// (accounts.google.com) or its short name (google, cognito, facebook,
// amazon).
func LookupWellKnown(name string) (string, bool) {
	switch strings.ToLower(name) {
	case "google", ProviderGoogle:
		return ProviderGoogle, true
	case "cognito", ProviderCognito:
		return ProviderCognito, true
	case "facebook", ProviderFacebook:
		return ProviderFacebook, true
	case "amazon", ProviderAmazon:
		return ProviderAmazon, true
	}
	return "", false
}

// IsOAuthProvider reports whether name is a provider of OAuth 2.0 access
// tokens, the only values AssumeRoleWithWebIdentity's ProviderId takes.
func IsOAuthProvider(name string) bool {
	return name == ProviderFacebook || name == ProviderAmazon
}

// wellKnownIssuer is the iss of a well-known OIDC provider's ID tokens.
func wellKnownIssuer(name string) string { return "https://" + name }

// AccessTokenClaims are what a well-known OAuth provider says about one of
// its access tokens: the app it was issued to and the user.
type AccessTokenClaims struct {
	// Provider is the ProviderId the token belongs to.
	Provider string `json:"-"`
	// AppID is the app (client) the token was issued to: STS's Audience
	// and the PROVIDER:app_id condition key.
	AppID string `json:"app_id"`
	// UserID is the user: SubjectFromWebIdentityToken, and the
	// graph.facebook.com:id or www.amazon.com:user_id condition key.
	UserID string `json:"user_id"`
	// IssuedAt and Expiry are Unix seconds.
	IssuedAt int64 `json:"iat"`
	Expiry   int64 `json:"exp"`
}

// accessTokenPrefix gives each provider's access tokens the look of the
// real ones (Facebook's start with "EAA", Login with Amazon's with
// "Atza|"), so a token for one provider is recognisably not the other's.
func accessTokenPrefix(provider string) string {
	if provider == ProviderAmazon {
		return "Atza|"
	}
	return "EAA"
}

// WebIdPs are imdsemu's stand-ins for the well-known web identity
// providers: they mint ID tokens as Google and Cognito and access tokens as
// Facebook and Login with Amazon, and they verify them for STS. Nothing is
// ever sent to the real providers. The ID tokens are RS256 JWTs signed with
// one RSA key; the access tokens are opaque: AES-256-GCM sealed claims,
// with the provider as additional data. Any process holding the two keys
// (the data directory's WebIdPKeyFile and OAuthKeyFile) can mint and
// verify, so tokens minted by `imdsemu idp` verify in `imdsemu serve`, also
// after either restarts. It is safe for concurrent use.
type WebIdPs struct {
	idps map[string]*IdP // ProviderGoogle, ProviderCognito
	aead cipher.AEAD
	now  func() time.Time
	rand io.Reader
}

// WebIdPsOptions configures NewWebIdPs.
type WebIdPsOptions struct {
	// Key signs the ID tokens (RSA of at least 2048 bits, or P-256). Required.
	Key crypto.Signer
	// OAuthKey seals the access tokens: 32 bytes. Required.
	OAuthKey []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand supplies nonces and token ids; nil means crypto/rand.
	Rand io.Reader
}

// OpenWebIdPs returns the well-known providers' stand-ins with their keys
// in dataDir (WebIdPKeyFile, OAuthKeyFile), created on first use.
func OpenWebIdPs(dataDir string, now func() time.Time) (*WebIdPs, error) {
	key, err := LoadOrCreateRSAKey(filepath.Join(dataDir, WebIdPKeyFile))
	if err != nil {
		return nil, err
	}
	oauth, err := keyfile.LoadOrCreate(filepath.Join(dataDir, OAuthKeyFile), 32, nil)
	if err != nil {
		return nil, err
	}
	return NewWebIdPs(WebIdPsOptions{Key: key, OAuthKey: oauth, Now: now})
}

// NewWebIdPs returns the stand-ins signing and sealing with opts' keys.
func NewWebIdPs(opts WebIdPsOptions) (*WebIdPs, error) {
	if len(opts.OAuthKey) != 32 {
		return nil, fmt.Errorf("federation: the OAuth key must be 32 bytes, not %d", len(opts.OAuthKey))
	}
	block, err := aes.NewCipher(opts.OAuthKey)
	if err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	w := &WebIdPs{idps: map[string]*IdP{}, aead: aead, now: opts.Now, rand: opts.Rand}
	if w.now == nil {
		w.now = time.Now
	}
	if w.rand == nil {
		w.rand = rand.Reader
	}
	for _, name := range []string{ProviderGoogle, ProviderCognito} {
		idp, err := NewIdP(IdPOptions{Issuer: wellKnownIssuer(name), Key: opts.Key, Now: w.now, Rand: w.rand})
		if err != nil {
			return nil, err
		}
		w.idps[name] = idp
	}
	return w, nil
}

// Providers are the OIDC provider entries of the well-known ID token
// issuers (Google and Cognito), with their keys inline and WellKnown set.
// STS tries them after the account's own providers, so an account that
// registers accounts.google.com as an IAM OIDC provider uses that.
func (w *WebIdPs) Providers() []OIDCProvider {
	out := make([]OIDCProvider, 0, 2)
	for _, name := range []string{ProviderGoogle, ProviderCognito} {
		p := w.idps[name].Provider()
		p.WellKnown = name
		out = append(out, p)
	}
	return out
}

// IDToken mints an ID token as provider (ProviderGoogle or ProviderCognito)
// for sub with audiences aud, like IdP.Token. A Cognito token without an
// amr claim in extra gets amr ["authenticated"].
func (w *WebIdPs) IDToken(provider, sub string, aud []string, ttl time.Duration, extra map[string]any) (string, error) {
	idp, ok := w.idps[provider]
	if !ok {
		return "", fmt.Errorf("federation: %q issues no ID tokens; use %s or %s", provider, ProviderGoogle, ProviderCognito)
	}
	if provider == ProviderCognito {
		if _, ok := extra["amr"]; !ok {
			extra = copyClaims(extra)
			extra["amr"] = []string{"authenticated"}
		}
	}
	return idp.Token(sub, aud, ttl, extra)
}

// copyClaims copies m (nil-safe) so a caller's map is never changed.
func copyClaims(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// AccessToken mints an opaque OAuth 2.0 access token as provider
// (ProviderFacebook or ProviderAmazon) for userID in the app appID, valid
// for ttl (DefaultTokenTTL when zero; negative: already expired).
func (w *WebIdPs) AccessToken(provider, appID, userID string, ttl time.Duration) (string, error) {
	if !IsOAuthProvider(provider) {
		return "", fmt.Errorf("federation: %q issues no OAuth access tokens; use %s or %s", provider, ProviderFacebook, ProviderAmazon)
	}
	if appID == "" || userID == "" {
		return "", errors.New("federation: an access token needs an app id and a user id")
	}
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	now := w.now()
	body, err := json.Marshal(AccessTokenClaims{AppID: appID, UserID: userID, IssuedAt: now.Unix(), Expiry: now.Add(ttl).Unix()})
	if err != nil {
		return "", fmt.Errorf("federation: %w", err)
	}
	nonce := make([]byte, w.aead.NonceSize(), w.aead.NonceSize()+len(body)+w.aead.Overhead())
	if _, err := io.ReadFull(w.rand, nonce); err != nil {
		return "", fmt.Errorf("federation: nonce: %w", err)
	}
	sealed := w.aead.Seal(nonce, nonce, body, []byte(provider))
	return accessTokenPrefix(provider) + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// VerifyAccessToken opens an access token presented with ProviderId
// provider, as STS would by asking the provider about it. Errors are
// *Error: InvalidIdentityToken for a ProviderId other than the two OAuth
// providers or a token that is not one of provider's (including one of the
// other provider's), ExpiredTokenException for an expired one.
func (w *WebIdPs) VerifyAccessToken(provider, token string) (AccessTokenClaims, error) {
	if n := len(token); n < MinTokenLength || n > MaxTokenLength {
		return AccessTokenClaims{}, newError(CodeValidation,
			"1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length between %d and %d (it has %d)",
			MinTokenLength, MaxTokenLength, n)
	}
	if !IsOAuthProvider(provider) {
		return AccessTokenClaims{}, invalidToken("ProviderId %s is not supported: only %s and %s issue OAuth 2.0 access tokens; omit ProviderId for OpenID Connect ID tokens",
			short(provider), ProviderAmazon, ProviderFacebook)
	}
	bad := invalidToken("The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.")
	rest, ok := strings.CutPrefix(token, accessTokenPrefix(provider))
	if !ok {
		return AccessTokenClaims{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(raw) < w.aead.NonceSize()+w.aead.Overhead() {
		return AccessTokenClaims{}, bad
	}
	ns := w.aead.NonceSize()
	body, err := w.aead.Open(nil, raw[:ns], raw[ns:], []byte(provider))
	if err != nil {
		return AccessTokenClaims{}, bad
	}
	var c AccessTokenClaims
	if err := json.Unmarshal(body, &c); err != nil || c.AppID == "" || c.UserID == "" {
		return AccessTokenClaims{}, bad
	}
	c.Provider = provider
	if !w.now().Before(time.Unix(c.Expiry, 0)) {
		return AccessTokenClaims{}, newError(CodeExpiredToken,
			"The web identity token that was passed is expired or is not valid. Get a new identity token from the identity provider and then retry the request.")
	}
	return c, nil
}

// wellKnownAudience is the client ID STS reports for a token of a
// well-known provider, which has no list of client IDs to match: Google's
// azp when present (accounts.google.com:aud; its aud is then
// accounts.google.com:oaud), else the first aud.
func wellKnownAudience(provider string, aud []string, extra map[string]any) string {
	if azp, ok := extra["azp"].(string); ok && azp != "" && provider == ProviderGoogle {
		return azp
	}
	if len(aud) > 0 {
		return aud[0]
	}
	return ""
}
