package sts

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/imdsemu/imdsemu/credential"
)

// Errors returned by [Issuer.Open]. Each is wrapped with detail; test with errors.Is.
var (
	// ErrMalformed: the token is not one imdsemu could have produced.
	ErrMalformed = errors.New("sts: malformed session token")
	// ErrForeignKey: the token was sealed by an imdsemu with a different key.
	ErrForeignKey = errors.New("sts: session token sealed with another key")
	// ErrTampered: the token's authentication tag does not verify.
	ErrTampered = errors.New("sts: session token failed authentication")
	// ErrExpired: the session's expiry has passed. Open returns the session too.
	ErrExpired = errors.New("sts: session token expired")
)

// KeySize is the length of the sealing key in bytes (AES-256).
const KeySize = 32

const tokenVersion = 1

// Session is everything a session token carries. It is sealed whole into the
// token, so it must stay small.
type Session struct {
	AccessKeyID string `json:"k"`
	// SecretAccessKey lets a verifier recompute the request signature without
	// a database. It never leaves the process except inside a sealed token.
	SecretAccessKey string `json:"s"`
	AccountID       string `json:"a"`
	// PrincipalARN is the caller's identity, e.g.
	// arn:aws:sts::123456789012:assumed-role/web/i-0123456789abcdef0.
	PrincipalARN string `json:"p,omitempty"`
	// PrincipalID is the unique id AWS reports as UserId, e.g. AROA…:session.
	PrincipalID string    `json:"u,omitempty"`
	RoleARN     string    `json:"r,omitempty"`
	RoleID      string    `json:"ri,omitempty"`
	SessionName string    `json:"n,omitempty"`
	IssuedAt    time.Time `json:"i,omitzero"`
	// IssuedNano is the issue time to the nanosecond (IssuedAt is to the
	// second, as AWS reports it), so that a revocation tells the sessions
	// issued before it from those issued after it within the same second.
	// Zero in tokens sealed before it existed; see Issued.
	IssuedNano     int64     `json:"in,omitempty"`
	Expires        time.Time `json:"e"`
	Action         Action    `json:"act"`
	Chained        bool      `json:"c,omitempty"`
	PolicyDigest   string    `json:"pd,omitempty"`
	SourceIdentity string    `json:"si,omitempty"`
	// SessionPolicy is the inline session policy, compacted, so that every
	// later request of the session can be evaluated against it.
	SessionPolicy string `json:"sp,omitempty"`
	// PolicyARNs are the managed session policies passed as PolicyArns.
	PolicyARNs []string `json:"pa,omitempty"`
	// Tags are the session tags (principal tags of the session), including
	// transitive tags inherited from the calling session.
	Tags []Tag `json:"tg,omitempty"`
	// TransitiveTagKeys are the keys of Tags that pass on to chained sessions.
	TransitiveTagKeys []string `json:"tt,omitempty"`
	// MFAAuthenticatedAt is when the session's creator last proved MFA;
	// zero when it did not.
	MFAAuthenticatedAt time.Time `json:"mfa,omitzero"`
	// SourceARN is the long-term identity behind a GetFederationToken or
	// GetSessionToken session: the IAM user's (or root's) ARN.
	SourceARN string `json:"src,omitempty"`
	// Provider is the identity provider of a web identity or SAML session:
	// the OIDC issuer or the SAML provider ARN.
	Provider string `json:"fp,omitempty"`
}

// Issued is when the session was issued, to the nanosecond when the token
// says so and to the second otherwise.
func (s *Session) Issued() time.Time {
	if s.IssuedNano != 0 {
		return time.Unix(0, s.IssuedNano).UTC()
	}
	return s.IssuedAt
}

// Tag is a session tag.
type Tag struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// LogValue keeps the secret out of logs.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", s.AccessKeyID),
		slog.String("principal", s.PrincipalARN),
		slog.String("action", string(s.Action)),
		slog.Time("issued", s.IssuedAt),
		slog.Time("expires", s.Expires),
	)
}

// Credentials are temporary credentials as handed to a client, with the
// session their token seals. Value.Issued is Session.IssuedAt and
// Value.Expires is Session.Expires.
type Credentials struct {
	credential.Value
	Session Session
}

// LogValue keeps the secret and token out of logs.
func (c Credentials) LogValue() slog.Value { return c.Session.LogValue() }

// Request asks the Issuer for a session.
type Request struct {
	Action    Action
	AccountID string
	// PrincipalARN and PrincipalID name the session's identity. For role
	// sessions leave them empty: they are derived from RoleARN, RoleID and
	// SessionName as AWS does.
	PrincipalARN, PrincipalID string
	RoleARN, RoleID           string
	SessionName               string
	// Duration is the requested lifetime; zero means the table's default.
	Duration time.Duration
	// RoleMaxSessionDuration is the role's MaxSessionDuration (zero: 1 h).
	RoleMaxSessionDuration time.Duration
	Chained, Root          bool
	// SessionPolicy is the inline session policy (JSON); it is sealed
	// compacted, with its digest.
	SessionPolicy      string
	PolicyARNs         []string
	SourceIdentity     string
	Tags               []Tag
	TransitiveTagKeys  []string
	MFAAuthenticatedAt time.Time
	SourceARN          string
	Provider           string
}

// IssuerOptions configure an Issuer.
type IssuerOptions struct {
	// Key is the KeySize-byte sealing key. Required.
	Key []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand supplies key ids, secrets and nonces; nil means crypto/rand.
	Rand io.Reader
}

// Issuer mints and opens session credentials.
type Issuer struct {
	aead  cipher.AEAD
	keyID [4]byte
	now   func() time.Time
	rand  io.Reader
	// opened remembers the sessions of recently opened tokens: a client
	// sends the same token with every request, and base64, AES-GCM and
	// JSON cost more than the rest of verifying a request. A token is
	// authenticated, so it always opens to the same session.
	opened *lru.Cache[string, Session]
}

// openedTokens is how many opened tokens an Issuer remembers: a few
// hundred KB at most.
const openedTokens = 256

// NewIssuer returns an Issuer sealing with opts.Key.
func NewIssuer(opts IssuerOptions) (*Issuer, error) {
	if len(opts.Key) != KeySize {
		return nil, fmt.Errorf("sts: sealing key is %d bytes, want %d", len(opts.Key), KeySize)
	}
	block, err := aes.NewCipher(opts.Key)
	if err != nil {
		return nil, fmt.Errorf("sts: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sts: %w", err)
	}
	opened, err := lru.New[string, Session](openedTokens)
	if err != nil {
		return nil, fmt.Errorf("sts: %w", err)
	}
	i := &Issuer{aead: aead, now: opts.Now, rand: opts.Rand, opened: opened}
	sum := sha256.Sum256(append([]byte("imdsemu key id\x00"), opts.Key...))
	copy(i.keyID[:], sum[:])
	if i.now == nil {
		i.now = time.Now
	}
	if i.rand == nil {
		i.rand = rand.Reader
	}
	return i, nil
}

// Issue mints credentials for r. A lifetime outside the duration table is a
// *DurationError.
func (i *Issuer) Issue(ctx context.Context, r Request) (Credentials, error) {
	if err := ctx.Err(); err != nil {
		return Credentials{}, err
	}
	life, err := SessionDuration(DurationRequest{
		Action: r.Action, Requested: r.Duration, RoleMax: r.RoleMaxSessionDuration,
		Chained: r.Chained, Root: r.Root,
	})
	if err != nil {
		return Credentials{}, err
	}
	akid, err := NewAccessKeyIDForAccount("ASIA", r.AccountID, i.rand)
	if err != nil {
		return Credentials{}, err
	}
	secret, err := NewSecretAccessKey(i.rand)
	if err != nil {
		return Credentials{}, err
	}
	// AWS reports times to the second; truncating here keeps the IMDS
	// Expiration and the sealed expiry identical.
	exact := i.now().UTC()
	now := exact.Truncate(time.Second)
	s := Session{
		AccessKeyID:       akid,
		SecretAccessKey:   secret,
		AccountID:         r.AccountID,
		PrincipalARN:      r.PrincipalARN,
		PrincipalID:       r.PrincipalID,
		RoleARN:           r.RoleARN,
		RoleID:            r.RoleID,
		SessionName:       r.SessionName,
		IssuedAt:          now,
		IssuedNano:        exact.UnixNano(),
		Expires:           now.Add(life),
		Action:            r.Action,
		Chained:           r.Chained,
		SourceIdentity:    r.SourceIdentity,
		PolicyARNs:        r.PolicyARNs,
		Tags:              r.Tags,
		TransitiveTagKeys: r.TransitiveTagKeys,
		SourceARN:         r.SourceARN,
		Provider:          r.Provider,
	}
	if !r.MFAAuthenticatedAt.IsZero() {
		s.MFAAuthenticatedAt = r.MFAAuthenticatedAt.UTC().Truncate(time.Second)
	}
	if r.SessionPolicy != "" {
		sum := sha256.Sum256([]byte(r.SessionPolicy))
		s.PolicyDigest = base64.RawStdEncoding.EncodeToString(sum[:])
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(r.SessionPolicy)); err != nil {
			return Credentials{}, fmt.Errorf("sts: session policy is not JSON: %w", err)
		}
		s.SessionPolicy = buf.String()
	}
	if s.PrincipalARN == "" && r.RoleARN != "" {
		s.PrincipalARN, err = AssumedRoleARN(r.RoleARN, r.SessionName)
		if err != nil {
			return Credentials{}, err
		}
	}
	if s.PrincipalID == "" && r.RoleID != "" {
		s.PrincipalID = r.RoleID + ":" + r.SessionName
	}
	token, err := i.seal(s)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{
		Value: credential.Value{
			AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token,
			Issued: s.IssuedAt, Expires: s.Expires,
		},
		Session: s,
	}, nil
}

// Open verifies and decrypts a session token. A token past its expiry returns
// the session together with an error wrapping ErrExpired.
func (i *Issuer) Open(token string) (Session, error) {
	s, ok := i.opened.Get(token)
	if !ok {
		var err error
		if s, err = i.open(token); err != nil {
			return Session{}, err
		}
		// The copy kept is shared by every later caller: clipped, an
		// append to one of its slices copies.
		s.PolicyARNs = slices.Clip(s.PolicyARNs)
		s.Tags = slices.Clip(s.Tags)
		s.TransitiveTagKeys = slices.Clip(s.TransitiveTagKeys)
		i.opened.Add(strings.Clone(token), s)
	}
	if !i.now().Before(s.Expires) {
		return s, fmt.Errorf("%w at %s", ErrExpired, s.Expires.Format(time.RFC3339))
	}
	return s, nil
}

// open decrypts a token without looking at its expiry.
func (i *Issuer) open(token string) (Session, error) {
	raw, err := base64.StdEncoding.Strict().DecodeString(token)
	if err != nil {
		return Session{}, fmt.Errorf("%w: not base64", ErrMalformed)
	}
	head := 1 + len(i.keyID) + i.aead.NonceSize()
	if len(raw) < head+i.aead.Overhead() {
		return Session{}, fmt.Errorf("%w: %d bytes is too short", ErrMalformed, len(raw))
	}
	if raw[0] != tokenVersion {
		return Session{}, fmt.Errorf("%w: unknown version %d", ErrMalformed, raw[0])
	}
	if [4]byte(raw[1:5]) != i.keyID {
		return Session{}, ErrForeignKey
	}
	nonce := raw[5:head]
	plain, err := i.aead.Open(nil, nonce, raw[head:], raw[:5])
	if err != nil {
		return Session{}, ErrTampered
	}
	var s Session
	if err := json.Unmarshal(plain, &s); err != nil {
		// Authentic but undecodable means a bug in seal, not an attack.
		return Session{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	s.expand()
	return s, nil
}

// compact is s as sealed: without the fields that expand derives from the
// others, when they are what it would derive: an assumed role's principal
// ARN and id (from the role's ARN and id and the session name) and the
// issue time to the second (from the one to the nanosecond). An instance
// role's token is a third shorter (some 420 characters instead of 620),
// which is most of what a fleet of instances keeps for each one's
// credentials. Issue sets all three, so a token without them is one of
// these; one sealed whole (before compact existed) opens as it did.
func (s Session) compact() Session {
	if s.RoleARN != "" {
		if arn, err := AssumedRoleARN(s.RoleARN, s.SessionName); err == nil && arn == s.PrincipalARN {
			s.PrincipalARN = ""
		}
	}
	if s.RoleID != "" && s.PrincipalID == s.RoleID+":"+s.SessionName {
		s.PrincipalID = ""
	}
	if s.IssuedNano != 0 && s.IssuedAt.Equal(time.Unix(0, s.IssuedNano).UTC().Truncate(time.Second)) {
		s.IssuedAt = time.Time{}
	}
	return s
}

// expand undoes compact.
func (s *Session) expand() {
	if s.PrincipalARN == "" && s.RoleARN != "" {
		s.PrincipalARN, _ = AssumedRoleARN(s.RoleARN, s.SessionName)
	}
	if s.PrincipalID == "" && s.RoleID != "" {
		s.PrincipalID = s.RoleID + ":" + s.SessionName
	}
	if s.IssuedAt.IsZero() && s.IssuedNano != 0 {
		s.IssuedAt = time.Unix(0, s.IssuedNano).UTC().Truncate(time.Second)
	}
}

func (i *Issuer) seal(s Session) (string, error) {
	plain, err := json.Marshal(s.compact())
	if err != nil {
		return "", fmt.Errorf("sts: %w", err)
	}
	head := make([]byte, 1+len(i.keyID)+i.aead.NonceSize(), 1+len(i.keyID)+i.aead.NonceSize()+len(plain)+i.aead.Overhead())
	head[0] = tokenVersion
	copy(head[1:], i.keyID[:])
	if _, err := io.ReadFull(i.rand, head[5:]); err != nil {
		return "", fmt.Errorf("sts: nonce: %w", err)
	}
	out := i.aead.Seal(head, head[5:], plain, head[:5])
	return base64.StdEncoding.EncodeToString(out), nil
}

// NewAccessKeyID returns prefix ("ASIA", "AKIA") followed by sixteen
// characters of [A-Z2-7], the shape of an AWS access key id.
func NewAccessKeyID(prefix string, r io.Reader) (string, error) {
	var b [10]byte // 80 bits: exactly sixteen base32 characters
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("sts: access key id: %w", err)
	}
	return prefix + base32.StdEncoding.EncodeToString(b[:]), nil
}

// NewAccessKeyIDForAccount is NewAccessKeyID with the account encoded in
// characters 5 to 12, as AWS encodes it in its key ids: the 12-digit account
// is a 40-bit number, exactly eight base32 characters. AccountOfAccessKeyID
// reads it back. An account that is not 12 digits gives a random key id.
func NewAccessKeyIDForAccount(prefix, accountID string, r io.Reader) (string, error) {
	n, ok := parseAccount(accountID)
	if !ok {
		return NewAccessKeyID(prefix, r)
	}
	var b [10]byte
	if _, err := io.ReadFull(r, b[5:]); err != nil {
		return "", fmt.Errorf("sts: access key id: %w", err)
	}
	for i := 4; i >= 0; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	return prefix + base32.StdEncoding.EncodeToString(b[:]), nil
}

// AccountOfAccessKeyID returns the account encoded in an access key id made
// by NewAccessKeyIDForAccount, and false for any other string.
func AccountOfAccessKeyID(id string) (string, bool) {
	if len(id) != 20 {
		return "", false
	}
	b, err := base32.StdEncoding.DecodeString(id[4:])
	if err != nil || len(b) != 10 {
		return "", false
	}
	var n uint64
	for _, c := range b[:5] {
		n = n<<8 | uint64(c)
	}
	if n > 999999999999 {
		return "", false
	}
	return fmt.Sprintf("%012d", n), true
}

func parseAccount(s string) (uint64, bool) {
	if len(s) != 12 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + uint64(s[i]-'0')
	}
	return n, true
}

// NewSecretAccessKey returns forty characters of base64 from r.
func NewSecretAccessKey(r io.Reader) (string, error) {
	var b [30]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("sts: secret: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

// AssumedRoleARN turns a role ARN and session name into the session's ARN:
// arn:aws:iam::123456789012:role/path/web becomes
// arn:aws:sts::123456789012:assumed-role/web/session (the path is dropped, as AWS does).
func AssumedRoleARN(roleARN, sessionName string) (string, error) {
	a, err := arn.Parse(roleARN)
	if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") {
		return "", fmt.Errorf("sts: %q is not a role ARN", roleARN)
	}
	name := a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
	if name == "" {
		return "", fmt.Errorf("sts: %q is not a role ARN", roleARN)
	}
	return arn.ARN{Partition: a.Partition, Service: "sts", AccountID: a.AccountID, Resource: "assumed-role/" + name + "/" + sessionName}.String(), nil
}
