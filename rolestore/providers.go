package rolestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/internal/pattern"
)

// Entity names used in ValidationError.Entity.
const (
	EntityOIDCProvider = "OIDC provider"
	EntitySAMLProvider = "SAML provider"
)

// IAM limits for identity providers (botocore IAM model).
const (
	MaxOIDCURLLength     = 255
	MaxOIDCClientIDs     = 100
	MaxOIDCThumbprints   = 5
	MaxSAMLMetadataBytes = 10000000
)

// Immutable after package initialisation and safe for concurrent use.
var (
	thumbprintRe   = pattern.Lazy(`^[0-9a-fA-F]{40}$`)
	samlProviderRe = pattern.MustCompile(`^[\w._-]+$`, 1, 128)
)

// OIDCProvider is an IAM OpenID Connect identity provider: tokens whose
// issuer is URL and whose audience is one of ClientIDs may be exchanged
// with AssumeRoleWithWebIdentity for roles that trust the provider.
type OIDCProvider struct {
	AccountID string
	// URL is the issuer: https://HOST[/PATH], or http:// for a loopback
	// host (127.0.0.0/8, ::1, localhost) such as imdsemu's built-in IdP.
	// Unique per account.
	URL         string
	ClientIDs   []string
	Thumbprints []string
	// JWKS optionally holds the provider's signing keys as a JSON Web Key
	// Set; when empty they are fetched from the issuer's discovery document.
	JWKS      string
	CreatedAt time.Time
}

// HostPath returns the URL without its scheme, the form trust policies name
// the provider by ("Federated") and prefix its condition keys with.
func (p OIDCProvider) HostPath() string {
	_, rest, ok := strings.Cut(p.URL, "://")
	if !ok {
		return p.URL
	}
	return rest
}

// ARN returns arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH.
func (p OIDCProvider) ARN() string {
	return "arn:aws:iam::" + p.AccountID + ":oidc-provider/" + p.HostPath()
}

// Validate checks the provider against IAM's rules.
func (p OIDCProvider) Validate() error {
	bad := func(field, key, value, reason string) error {
		return &ValidationError{Entity: EntityOIDCProvider, Name: short(p.URL), Field: field, Key: key, Value: value, Reason: reason}
	}
	if !accountIDRe.MatchString(p.AccountID) {
		return bad("AccountID", "", p.AccountID, "must be 12 digits")
	}
	if reason := checkIssuerURL(p.URL); reason != "" {
		return bad("URL", "", short(p.URL), reason)
	}
	if len(p.ClientIDs) == 0 {
		return bad("ClientIDs", "", "", "must list at least one client ID (audience)")
	}
	if len(p.ClientIDs) > MaxOIDCClientIDs {
		return bad("ClientIDs", "", "", fmt.Sprintf("must be at most %d, got %d", MaxOIDCClientIDs, len(p.ClientIDs)))
	}
	for _, c := range p.ClientIDs {
		if len(c) < 1 || len(c) > 255 {
			return bad("ClientIDs", c, short(c), "client ID must be 1 to 255 characters")
		}
	}
	if len(p.Thumbprints) > MaxOIDCThumbprints {
		return bad("Thumbprints", "", "", fmt.Sprintf("must be at most %d, got %d", MaxOIDCThumbprints, len(p.Thumbprints)))
	}
	for _, t := range p.Thumbprints {
		if !thumbprintRe.MatchString(t) {
			return bad("Thumbprints", t, short(t), "thumbprint must be 40 hexadecimal characters (a SHA-1 fingerprint)")
		}
	}
	if p.JWKS != "" {
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal([]byte(p.JWKS), &set); err != nil || set.Keys == nil {
			return bad("JWKS", "", "", `must be a JSON Web Key Set: a JSON object with a "keys" list`)
		}
	}
	return nil
}

// checkIssuerURL allows https URLs and http URLs of loopback hosts, with no
// query, fragment or user info, as IAM requires of provider URLs.
func checkIssuerURL(raw string) string {
	if len(raw) < 1 || len(raw) > MaxOIDCURLLength {
		return fmt.Sprintf("must be 1 to %d characters", MaxOIDCURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "must be a URL such as https://token.example.com"
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "must not have a query, fragment or user info"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return ""
		}
		return "must use https (http is allowed only for loopback hosts such as 127.0.0.1)"
	}
	return "must use https"
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// SAMLProvider is an IAM SAML identity provider: assertions signed by a key
// in its metadata may be exchanged with AssumeRoleWithSAML.
type SAMLProvider struct {
	AccountID string
	// Name matches [\w._-]{1,128}, unique per account without regard to case.
	Name string
	// MetadataXML is the IdP's SAML metadata document.
	MetadataXML string
	CreatedAt   time.Time
}

// ARN returns arn:aws:iam::ACCOUNT:saml-provider/NAME.
func (p SAMLProvider) ARN() string {
	return "arn:aws:iam::" + p.AccountID + ":saml-provider/" + p.Name
}

// ParseSAMLProviderARN splits arn:aws:iam::ACCOUNT:saml-provider/NAME.
func ParseSAMLProviderARN(arn string) (accountID, name string, err error) {
	account, path, name, err := parseIAMARN(arn, "saml-provider")
	if err != nil {
		return "", "", err
	}
	if path != "/" {
		return "", "", fmt.Errorf("rolestore: %q: SAML provider ARNs have no path", arn)
	}
	return account, name, nil
}

// Validate checks the provider against IAM's rules.
func (p SAMLProvider) Validate() error {
	bad := func(field, value, reason string) error {
		return &ValidationError{Entity: EntitySAMLProvider, Name: p.Name, Field: field, Value: value, Reason: reason}
	}
	if !accountIDRe.MatchString(p.AccountID) {
		return bad("AccountID", p.AccountID, "must be 12 digits")
	}
	if !samlProviderRe.MatchString(p.Name) {
		return bad("Name", short(p.Name), `must match [\w._-]{1,128}`)
	}
	doc := strings.TrimSpace(p.MetadataXML)
	if doc == "" || doc[0] != '<' {
		return bad("MetadataXML", "", "must be a SAML metadata XML document")
	}
	if len(p.MetadataXML) > MaxSAMLMetadataBytes {
		return bad("MetadataXML", "", fmt.Sprintf("must be at most %d bytes", MaxSAMLMetadataBytes))
	}
	return nil
}

// PutOIDCProvider creates or updates the provider (AccountID, URL).
func (s *SQLite) PutOIDCProvider(ctx context.Context, p OIDCProvider) (OIDCProvider, error) {
	if err := p.Validate(); err != nil {
		return OIDCProvider{}, err
	}
	err := s.write(ctx, "put OIDC provider", func(tx *sql.Tx) error {
		return s.putOIDCProvider(ctx, tx, p)
	})
	if err != nil {
		return OIDCProvider{}, err
	}
	list, err := s.listOIDCProviders(ctx, `account_id = ? AND url = ?`, p.AccountID, p.URL)
	if err != nil {
		return OIDCProvider{}, err
	}
	if len(list) != 1 {
		return OIDCProvider{}, fmt.Errorf("rolestore: put OIDC provider %s: not found after write", p.URL)
	}
	return list[0], nil
}

func (s *SQLite) putOIDCProvider(ctx context.Context, tx *sql.Tx, p OIDCProvider) error {
	if err := accountExists(ctx, tx, EntityOIDCProvider, p.URL, p.AccountID); err != nil {
		return err
	}
	clients, err := json.Marshal(nonNilStrings(p.ClientIDs))
	if err != nil {
		return fmt.Errorf("rolestore: put OIDC provider %s: %w", p.URL, err)
	}
	thumbs, err := json.Marshal(nonNilStrings(p.Thumbprints))
	if err != nil {
		return fmt.Errorf("rolestore: put OIDC provider %s: %w", p.URL, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO oidc_providers (account_id, url, client_ids, thumbprints, jwks, created_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (account_id, url) DO UPDATE SET
	client_ids = excluded.client_ids, thumbprints = excluded.thumbprints, jwks = excluded.jwks`,
		p.AccountID, p.URL, string(clients), string(thumbs), p.JWKS, s.createdAt(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("rolestore: put OIDC provider %s: %w", p.URL, err)
	}
	return nil
}

// OIDCProviders lists the OIDC providers of one account, or of all accounts
// when accountID is "", sorted by account and URL.
func (s *SQLite) OIDCProviders(ctx context.Context, accountID string) ([]OIDCProvider, error) {
	return s.listOIDCProviders(ctx, `? = '' OR account_id = ?`, accountID, accountID)
}

func (s *SQLite) listOIDCProviders(ctx context.Context, where string, args ...any) ([]OIDCProvider, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT account_id, url, client_ids, thumbprints, jwks, created_at
FROM oidc_providers WHERE `+where+` ORDER BY account_id, url`, args...)
	if err != nil {
		return nil, fmt.Errorf("rolestore: list OIDC providers: %w", err)
	}
	defer rows.Close()
	var out []OIDCProvider
	for rows.Next() {
		var (
			p               OIDCProvider
			clients, thumbs string
			created         int64
		)
		if err := rows.Scan(&p.AccountID, &p.URL, &clients, &thumbs, &p.JWKS, &created); err != nil {
			return nil, fmt.Errorf("rolestore: list OIDC providers: %w", err)
		}
		if err := json.Unmarshal([]byte(clients), &p.ClientIDs); err != nil {
			return nil, fmt.Errorf("rolestore: OIDC provider %s: decode client ids: %w", p.URL, err)
		}
		if err := json.Unmarshal([]byte(thumbs), &p.Thumbprints); err != nil {
			return nil, fmt.Errorf("rolestore: OIDC provider %s: decode thumbprints: %w", p.URL, err)
		}
		if len(p.Thumbprints) == 0 {
			p.Thumbprints = nil
		}
		p.CreatedAt = time.Unix(0, created).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rolestore: list OIDC providers: %w", err)
	}
	return out, nil
}

// PutSAMLProvider creates or updates the provider (AccountID, Name).
func (s *SQLite) PutSAMLProvider(ctx context.Context, p SAMLProvider) (SAMLProvider, error) {
	if err := p.Validate(); err != nil {
		return SAMLProvider{}, err
	}
	err := s.write(ctx, "put SAML provider", func(tx *sql.Tx) error {
		return s.putSAMLProvider(ctx, tx, p)
	})
	if err != nil {
		return SAMLProvider{}, err
	}
	return s.SAMLProvider(ctx, p.AccountID, p.Name)
}

func (s *SQLite) putSAMLProvider(ctx context.Context, tx *sql.Tx, p SAMLProvider) error {
	if err := accountExists(ctx, tx, EntitySAMLProvider, p.Name, p.AccountID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO saml_providers (account_id, name, metadata, created_at)
VALUES (?, ?, ?, ?)
ON CONFLICT (account_id, name) DO UPDATE SET name = excluded.name, metadata = excluded.metadata`,
		p.AccountID, p.Name, p.MetadataXML, s.createdAt(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("rolestore: put SAML provider %s: %w", p.Name, err)
	}
	return nil
}

// SAMLProvider returns a provider by account and name (case-insensitive).
func (s *SQLite) SAMLProvider(ctx context.Context, accountID, name string) (SAMLProvider, error) {
	list, err := s.listSAMLProviders(ctx, `account_id = ? AND name = ?`, accountID, name)
	if err != nil {
		return SAMLProvider{}, err
	}
	if len(list) == 0 {
		return SAMLProvider{}, fmt.Errorf("SAML provider %s/%s: %w", accountID, name, ErrNotFound)
	}
	return list[0], nil
}

// SAMLProviders lists the SAML providers of one account, or of all when
// accountID is "".
func (s *SQLite) SAMLProviders(ctx context.Context, accountID string) ([]SAMLProvider, error) {
	return s.listSAMLProviders(ctx, `? = '' OR account_id = ?`, accountID, accountID)
}

func (s *SQLite) listSAMLProviders(ctx context.Context, where string, args ...any) ([]SAMLProvider, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT account_id, name, metadata, created_at
FROM saml_providers WHERE `+where+` ORDER BY account_id, name`, args...)
	if err != nil {
		return nil, fmt.Errorf("rolestore: list SAML providers: %w", err)
	}
	defer rows.Close()
	var out []SAMLProvider
	for rows.Next() {
		var (
			p       SAMLProvider
			created int64
		)
		if err := rows.Scan(&p.AccountID, &p.Name, &p.MetadataXML, &created); err != nil {
			return nil, fmt.Errorf("rolestore: list SAML providers: %w", err)
		}
		p.CreatedAt = time.Unix(0, created).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rolestore: list SAML providers: %w", err)
	}
	return out, nil
}

func nonNilStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
