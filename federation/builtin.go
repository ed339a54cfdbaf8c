package federation

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Files of the built-in identity providers in imdsemu's data directory.
const (
	OIDCKeyFile  = "idp-oidc.key"
	SAMLKeyFile  = "idp-saml.key"
	SAMLCertFile = "idp-saml.crt"
)

// OpenIdP returns the built-in OIDC provider with the given issuer, signing
// with the RSA key OIDCKeyFile in dataDir (created on first use). The
// serve command publishes it and `imdsemu idp token` mints with it, so the
// tokens of one verify against the other.
func OpenIdP(dataDir, issuer string, now func() time.Time) (*IdP, error) {
	key, err := LoadOrCreateRSAKey(filepath.Join(dataDir, OIDCKeyFile))
	if err != nil {
		return nil, err
	}
	return NewIdP(IdPOptions{Issuer: issuer, Key: key, Now: now})
}

// OpenSAMLIdP returns the built-in SAML IdP with the given entity ID
// (default DefaultSAMLEntityID), signing with the key SAMLKeyFile and the
// self-signed certificate SAMLCertFile in dataDir (created on first use).
func OpenSAMLIdP(dataDir, entityID string, now func() time.Time) (*SAMLIdP, error) {
	if entityID == "" {
		entityID = DefaultSAMLEntityID
	}
	if now == nil {
		now = time.Now
	}
	key, err := LoadOrCreateRSAKey(filepath.Join(dataDir, SAMLKeyFile))
	if err != nil {
		return nil, err
	}
	cert, err := LoadOrCreateCertificate(filepath.Join(dataDir, SAMLCertFile), key, "imdsemu SAML IdP", now())
	if err != nil {
		return nil, err
	}
	return NewSAMLIdP(entityID, key, cert, now)
}

// ParseClaims reads extra token claims given as NAME=VALUE: a VALUE that
// parses as JSON (a number, true, a list, an object) is used as such,
// anything else as a string.
func ParseClaims(pairs []string) (map[string]any, error) {
	out := map[string]any{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("claim %q: want NAME=VALUE", p)
		}
		var j any
		if err := json.Unmarshal([]byte(v), &j); err == nil {
			out[k] = j
		} else {
			out[k] = v
		}
	}
	return out, nil
}
