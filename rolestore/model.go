package rolestore

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	awsarn "github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/imdsemu/imdsemu/internal/pattern"
)

// ErrNotFound is returned, wrapped with context, when an account, role or
// instance profile does not exist. Test for it with errors.Is.
var ErrNotFound = errors.New("rolestore: not found")

// ErrConflict is returned, wrapped with context, when a write would break the
// store's integrity: deleting a role still attached to an instance profile, or
// giving an entity an ID that another entity already has.
var ErrConflict = errors.New("rolestore: conflict")

// Limits and defaults taken from IAM (botocore IAM model and the IAM quotas
// page); see /work/shared/reference/sts-and-iam-policy.md §4.
const (
	// DefaultMaxSessionDuration is what a zero Role.MaxSessionDuration means.
	DefaultMaxSessionDuration = time.Hour
	// MinMaxSessionDuration and MaxMaxSessionDuration bound a role's
	// MaxSessionDuration (IAM roleMaxSessionDurationType, 3600..43200 s).
	MinMaxSessionDuration = time.Hour
	MaxMaxSessionDuration = 12 * time.Hour

	// MaxTrustPolicyLength is the IAM default quota for a role trust policy.
	MaxTrustPolicyLength = 2048
	// MaxRolePoliciesLength is the IAM quota for the aggregate size of a
	// role's inline policies.
	MaxRolePoliciesLength = 10240
	// MaxDescriptionLength is the longest role description IAM accepts.
	MaxDescriptionLength = 1000
	// MaxTags is the most tags a role may carry.
	MaxTags = 50
	// MaxPathLength is the longest IAM path.
	MaxPathLength = 512

	// RoleIDPrefix, InstanceProfileIDPrefix and UserIDPrefix start the unique
	// IDs IAM gives roles, instance profiles and users.
	RoleIDPrefix            = "AROA"
	InstanceProfileIDPrefix = "AIPA"
	UserIDPrefix            = "AIDA"

	// idRandomChars is how many base32 characters follow an ID prefix.
	idRandomChars = 17
)

// Entity names used in ValidationError.Entity.
const (
	EntityAccount         = "account"
	EntityRole            = "role"
	EntityInstanceProfile = "instance profile"
)

// Account is an AWS account: a 12-digit ID and an optional alias.
type Account struct {
	ID    string
	Alias string
}

// Tag is a key/value pair attached to a role.
type Tag struct {
	Key, Value string
}

// Role is an IAM role: who may assume it (TrustPolicy), what its sessions may
// do (Policies) and how long they may last (MaxSessionDuration).
type Role struct {
	AccountID string
	// Name matches [\w+=,.@-]{1,64}. Names are unique per account without
	// regard to case, as in IAM; lookups by name ignore case too.
	Name string
	// Path is "/" or "/a/b/"; empty means "/".
	Path string
	// ID is "AROA" and 17 base32 characters. The store assigns it when empty
	// and keeps it across upserts.
	ID          string
	Description string
	// TrustPolicy is the role's trust (assume role) policy as a JSON document.
	TrustPolicy string
	// Policies are the role's inline permission policies, name -> JSON document.
	Policies map[string]string
	// ManagedPolicies are the ARNs of the managed policies attached to the
	// role, sorted when read; PutRole replaces the attachments with them.
	ManagedPolicies []string
	// PermissionsBoundary is the ARN of the managed policy that bounds the
	// role's permissions, or "".
	PermissionsBoundary string
	// MaxSessionDuration caps the lifetime of the role's sessions; zero means
	// DefaultMaxSessionDuration.
	MaxSessionDuration time.Duration
	Tags               []Tag
	// CreatedAt is set by the store when the role is first written.
	CreatedAt time.Time
}

// InstanceProfile is the container EC2 attaches to an instance; it holds at
// most one role.
type InstanceProfile struct {
	AccountID string
	// Name matches [\w+=,.@-]{1,128}, unique per account without regard to case.
	Name string
	// Path is "/" or "/a/b/"; empty means "/".
	Path string
	// ID is "AIPA" and 17 base32 characters, assigned by the store when empty.
	ID string
	// Roles holds the names of the profile's roles in the same account; IAM
	// allows at most one.
	Roles     []string
	CreatedAt time.Time
}

// ARN returns the role's ARN, arn:aws:iam::ACCOUNT:role/PATH/NAME.
func (r Role) ARN() string {
	return "arn:aws:iam::" + r.AccountID + ":role" + pathOrRoot(r.Path) + r.Name
}

// ARN returns the profile's ARN, arn:aws:iam::ACCOUNT:instance-profile/PATH/NAME.
func (p InstanceProfile) ARN() string {
	return "arn:aws:iam::" + p.AccountID + ":instance-profile" + pathOrRoot(p.Path) + p.Name
}

// EffectiveMaxSessionDuration returns MaxSessionDuration, or
// DefaultMaxSessionDuration when it is zero.
func (r Role) EffectiveMaxSessionDuration() time.Duration {
	if r.MaxSessionDuration == 0 {
		return DefaultMaxSessionDuration
	}
	return r.MaxSessionDuration
}

func pathOrRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// ParseRoleARN splits a role ARN into account ID, path and name. It checks the
// shape only, not whether the parts are valid names.
func ParseRoleARN(arn string) (accountID, path, name string, err error) {
	return parseIAMARN(arn, "role")
}

func parseIAMARN(arn, resourceType string) (accountID, path, name string, err error) {
	a, err := awsarn.Parse(arn)
	if err != nil || a.Partition != "aws" || a.Service != "iam" || a.Region != "" {
		return "", "", "", fmt.Errorf("rolestore: %q is not an IAM %s ARN", arn, resourceType)
	}
	accountID = a.AccountID
	rest, ok := strings.CutPrefix(a.Resource, resourceType+"/")
	if !ok {
		return "", "", "", fmt.Errorf("rolestore: %q is not an IAM %s ARN", arn, resourceType)
	}
	i := strings.LastIndexByte(rest, '/')
	path, name = "/"+rest[:i+1], rest[i+1:]
	if name == "" {
		return "", "", "", fmt.Errorf("rolestore: %q has no %s name", arn, resourceType)
	}
	return accountID, path, name, nil
}

// NewID returns prefix followed by 17 random characters of base32 [A-Z2-7],
// read from r (crypto/rand.Reader when r is nil). Roles use "AROA", instance
// profiles "AIPA" and users "AIDA".
func NewID(prefix string, r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	// 11 bytes = 88 bits, enough for 17 base32 characters (85 bits).
	var b [11]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("rolestore: new %s id: %w", prefix, err)
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
	return prefix + enc[:idRandomChars], nil
}

// ValidationError describes the first problem found in an entity. It never
// carries policy documents or secrets, only names, short values and a reason.
type ValidationError struct {
	// Entity is EntityAccount, EntityRole or EntityInstanceProfile.
	Entity string
	// Name is the entity's name (the ID for an account).
	Name string
	// Field is the Go field name of the offending value, e.g. "MaxSessionDuration".
	Field string
	// Key names the entry within a map or list field: the policy name for
	// Policies, the tag key for Tags, the role name for Roles. Empty otherwise.
	Key string
	// Value is the offending value when it is short and safe to show; empty
	// for documents and long texts. With a Key, a non-empty Value means the
	// key itself is at fault (a bad policy name or tag key) and an empty one
	// means the entry's value is (its document or tag value).
	Value string
	// Reason says what is wrong, e.g. "must be between 1h0m0s and 12h0m0s".
	Reason string
}

// Error renders e.g. `role "bad name": RoleName "bad name" must match [\w+=,.@-]{1,64}`.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q: %s", e.Entity, e.Name, e.fieldLabel())
	if e.Value != "" {
		fmt.Fprintf(&b, " %q", e.Value)
	}
	b.WriteString(" ")
	b.WriteString(e.Reason)
	return b.String()
}

// fieldLabel names the field the way IAM's API does where that is clearer.
func (e *ValidationError) fieldLabel() string {
	if e.Field != "Name" {
		return e.Field
	}
	switch e.Entity {
	case EntityRole:
		return "RoleName"
	case EntityInstanceProfile:
		return "InstanceProfileName"
	case EntityUser:
		return "UserName"
	}
	return e.Field
}

var (
	// Immutable after package initialisation and safe for concurrent use.
	accountIDRe    = pattern.Lazy(`^[0-9]{12}$`)
	accountAliasRe = pattern.Lazy(`^[a-z0-9]([a-z0-9]|-[a-z0-9])*$`)
	nameRe         = pattern.Lazy(`^[\w+=,.@-]+$`)
	pathRe         = pattern.Lazy(`^/([\x21-\x7E]+/)?$`)
	roleIDRe       = pattern.Lazy(`^AROA[A-Z0-9]{17}$`)
	profileIDRe    = pattern.Lazy(`^AIPA[A-Z0-9]{17}$`)
)

// Validate checks the account ID (12 digits) and the alias (optional; 3 to 63
// lowercase letters, digits and single hyphens, as IAM account aliases).
func (a Account) Validate() error {
	bad := func(field, value, reason string) error {
		return &ValidationError{Entity: EntityAccount, Name: a.ID, Field: field, Value: value, Reason: reason}
	}
	if !accountIDRe.MatchString(a.ID) {
		return bad("ID", a.ID, "must be 12 digits")
	}
	if a.Alias != "" {
		if n := len(a.Alias); n < 3 || n > 63 || !accountAliasRe.MatchString(a.Alias) {
			return bad("Alias", a.Alias, "must be 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit")
		}
	}
	return nil
}

// Validate checks every field of the role against IAM's rules and returns a
// *ValidationError for the first problem. Policy documents are checked only
// for being JSON objects with a Statement; deeper checks belong to the policy
// package.
func (r Role) Validate() error {
	bad := func(field, key, value, reason string) error {
		return &ValidationError{Entity: EntityRole, Name: r.Name, Field: field, Key: key, Value: value, Reason: reason}
	}
	if err := checkIdentity(bad, r.AccountID, r.Name, 64, r.Path, r.ID, roleIDRe, "AROA"); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(r.Description); n > MaxDescriptionLength {
		return bad("Description", "", "", fmt.Sprintf("must be at most %d characters, got %d", MaxDescriptionLength, n))
	}
	if r.TrustPolicy == "" {
		return bad("TrustPolicy", "", "", "is required")
	}
	n, reason := checkDocument(r.TrustPolicy)
	if reason != "" {
		return bad("TrustPolicy", "", "", reason)
	}
	if n > MaxTrustPolicyLength {
		return bad("TrustPolicy", "", "", fmt.Sprintf("must be at most %d characters without whitespace, got %d", MaxTrustPolicyLength, n))
	}
	total := 0
	for _, name := range sortedKeys(r.Policies) {
		if err := checkName(name, 128); err != "" {
			return bad("Policies", name, short(name), "name "+err)
		}
		n, reason := checkDocument(r.Policies[name])
		if reason != "" {
			return bad("Policies", name, "", fmt.Sprintf("document %q %s", name, reason))
		}
		total += n
	}
	if total > MaxRolePoliciesLength {
		return bad("Policies", "", "", fmt.Sprintf("must total at most %d characters without whitespace, got %d", MaxRolePoliciesLength, total))
	}
	if arn, reason := checkPolicyARNs(r.ManagedPolicies); reason != "" {
		return bad("ManagedPolicies", arn, short(arn), reason)
	}
	if b := r.PermissionsBoundary; b != "" && !isPolicyARN(b) {
		return bad("PermissionsBoundary", "", short(b), "is not a managed policy ARN (arn:aws:iam::ACCOUNT:policy/PATH/NAME)")
	}
	if d := r.MaxSessionDuration; d != 0 {
		if d < MinMaxSessionDuration || d > MaxMaxSessionDuration {
			return bad("MaxSessionDuration", "", d.String(), fmt.Sprintf("must be between %s and %s", MinMaxSessionDuration, MaxMaxSessionDuration))
		}
		if d%time.Second != 0 {
			return bad("MaxSessionDuration", "", d.String(), "must be a whole number of seconds")
		}
	}
	if key, value, reason := checkTags(r.Tags); reason != "" {
		return bad("Tags", key, value, reason)
	}
	return nil
}

// checkTags applies IAM's tag rules: at most MaxTags, keys 1..128 and values
// 0..256 characters of letters, digits, spaces and _.:/=+-@, no "aws:"
// prefix, keys unique without regard to case. It returns the offending key,
// the value to show (empty when the tag's value is at fault) and a reason.
func checkTags(tags []Tag) (key, value, reason string) {
	if len(tags) > MaxTags {
		return "", "", fmt.Sprintf("must be at most %d, got %d", MaxTags, len(tags))
	}
	seen := make(map[string]string, len(tags))
	for _, t := range tags {
		if n := utf8.RuneCountInString(t.Key); n < 1 || n > 128 || !pattern.TagText(t.Key) {
			return t.Key, short(t.Key), `key must be 1 to 128 characters of letters, digits, spaces and _.:/=+-@`
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return t.Key, t.Key, `key must not start with "aws:"`
		}
		if prev, dup := seen[strings.ToLower(t.Key)]; dup {
			return t.Key, t.Key, fmt.Sprintf("key duplicates %q (tag keys are case-insensitive)", prev)
		}
		seen[strings.ToLower(t.Key)] = t.Key
		if n := utf8.RuneCountInString(t.Value); n > 256 || !pattern.TagText(t.Value) {
			return t.Key, "", `value must be at most 256 characters of letters, digits, spaces and _.:/=+-@`
		}
	}
	return "", "", ""
}

// checkIdentity checks what users, groups, roles and instance profiles
// share, in this order: the account, the name (at most maxName
// characters), the path, and the unique ID, which idRe matches ("PREFIX"
// and 17 uppercase letters or digits).
func checkIdentity(bad func(field, key, value, reason string) error, accountID, name string, maxName int, path, id string, idRe *pattern.Regexp, prefix string) error {
	if !accountIDRe.MatchString(accountID) {
		return bad("AccountID", "", accountID, "must be 12 digits")
	}
	if err := checkName(name, maxName); err != "" {
		return bad("Name", "", short(name), err)
	}
	if err := checkPath(path); err != "" {
		return bad("Path", "", short(path), err)
	}
	if id != "" && !idRe.MatchString(id) {
		return bad("ID", "", short(id), `must be "`+prefix+`" followed by 17 uppercase letters or digits`)
	}
	return nil
}

// Validate checks the profile's fields and that it holds at most one role.
// Whether that role exists is checked by Seed.Validate and by the store.
func (p InstanceProfile) Validate() error {
	bad := func(field, key, value, reason string) error {
		return &ValidationError{Entity: EntityInstanceProfile, Name: p.Name, Field: field, Key: key, Value: value, Reason: reason}
	}
	if err := checkIdentity(bad, p.AccountID, p.Name, 128, p.Path, p.ID, profileIDRe, "AIPA"); err != nil {
		return err
	}
	if len(p.Roles) > 1 {
		return bad("Roles", "", "", fmt.Sprintf("must hold at most one role (an AWS limit), got %d", len(p.Roles)))
	}
	for _, name := range p.Roles {
		if err := checkName(name, 64); err != "" {
			return bad("Roles", name, short(name), "role name "+err)
		}
	}
	return nil
}

func checkName(name string, max int) string {
	if len(name) < 1 || len(name) > max || !nameRe.MatchString(name) {
		return fmt.Sprintf(`must match [\w+=,.@-]{1,%d}`, max)
	}
	return ""
}

func checkPath(p string) string {
	if p == "" {
		return ""
	}
	if len(p) > MaxPathLength || !pathRe.MatchString(p) {
		return `must be "/" or start and end with "/" with printable ASCII between, at most 512 characters`
	}
	return ""
}

// checkDocument checks that doc is a JSON object with a Statement and returns
// its length in characters without insignificant whitespace, which is how IAM
// counts policy sizes.
func checkDocument(doc string) (int, string) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &obj); err != nil {
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn):
			return 0, fmt.Sprintf("is not valid JSON: %v (at offset %d)", syn, syn.Offset)
		default:
			return 0, "must be a JSON object"
		}
	}
	if obj == nil {
		return 0, "must be a JSON object"
	}
	if _, ok := obj["Statement"]; !ok {
		return 0, `must have a "Statement"`
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(doc)); err != nil {
		return 0, "is not valid JSON"
	}
	return utf8.RuneCount(buf.Bytes()), ""
}

// short returns s if it is short enough to show in an error, else a prefix.
func short(s string) string {
	const max = 80
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max]) + "..."
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Seed is everything a config file declares. Store.Apply upserts it atomically.
type Seed struct {
	Accounts         []Account
	Roles            []Role
	InstanceProfiles []InstanceProfile
	Users            []User
	OIDCProviders    []OIDCProvider
	SAMLProviders    []SAMLProvider
	// Groups and ManagedPolicies (customer managed, with the document of
	// their default version) are applied before users and roles, which may
	// name them.
	Groups          []Group
	ManagedPolicies []ManagedPolicy
}

// SeedError locates a *ValidationError within a Seed: Index is the position
// of the entity in the Seed slice for its kind (Err.Entity). errors.As finds
// the ValidationError through it.
type SeedError struct {
	Index int
	Err   *ValidationError
}

func (e *SeedError) Error() string {
	return fmt.Sprintf("%s[%d]: %v", seedField(e.Err.Entity), e.Index, e.Err)
}

func (e *SeedError) Unwrap() error { return e.Err }

func seedField(entity string) string {
	switch entity {
	case EntityAccount:
		return "Accounts"
	case EntityRole:
		return "Roles"
	case EntityInstanceProfile:
		return "InstanceProfiles"
	case EntityUser:
		return "Users"
	case EntityOIDCProvider:
		return "OIDCProviders"
	case EntitySAMLProvider:
		return "SAMLProviders"
	case EntityGroup:
		return "Groups"
	case EntityPolicy:
		return "ManagedPolicies"
	}
	return entity
}

// Validate checks every entity, that no entity is declared twice, that every
// role's and profile's account is declared, and that every profile's role is
// declared in the profile's account. It returns a *SeedError for the first
// problem.
func (s Seed) Validate() error {
	return s.validate(known{})
}

// known holds entities that exist outside the seed (in the store), which
// satisfy cross references during Apply.
type known struct {
	account func(id string) bool
	role    func(k roleKey) bool // k from lowerKey
}

func (k known) hasAccount(id string) bool { return k.account != nil && k.account(id) }
func (k known) hasRole(rk roleKey) bool   { return k.role != nil && k.role(rk) }

func always[T any](T) bool { return true }

type roleKey struct{ account, name string }

func lowerKey(account, name string) roleKey { return roleKey{account, strings.ToLower(name)} }

func (s Seed) validate(k known) error {
	fail := func(i int, err error) error {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return &SeedError{Index: i, Err: ve}
		}
		return err
	}
	accounts := make(map[string]int, len(s.Accounts))
	for i, a := range s.Accounts {
		if err := a.Validate(); err != nil {
			return fail(i, err)
		}
		if _, dup := accounts[a.ID]; dup {
			return fail(i, &ValidationError{Entity: EntityAccount, Name: a.ID, Field: "ID", Value: a.ID,
				Reason: "is declared more than once"})
		}
		accounts[a.ID] = i
	}
	accountExists := func(id string) bool {
		_, ok := accounts[id]
		return ok || k.hasAccount(id)
	}
	roles := make(map[roleKey]int, len(s.Roles))
	for i, r := range s.Roles {
		if err := r.Validate(); err != nil {
			return fail(i, err)
		}
		if !accountExists(r.AccountID) {
			return fail(i, &ValidationError{Entity: EntityRole, Name: r.Name, Field: "AccountID", Value: r.AccountID,
				Reason: "is not a declared account"})
		}
		key := lowerKey(r.AccountID, r.Name)
		if _, dup := roles[key]; dup {
			return fail(i, &ValidationError{Entity: EntityRole, Name: r.Name, Field: "Name", Value: r.Name,
				Reason: fmt.Sprintf("is declared more than once in account %s (names are case-insensitive)", r.AccountID)})
		}
		roles[key] = i
	}
	profiles := make(map[roleKey]int, len(s.InstanceProfiles))
	for i, p := range s.InstanceProfiles {
		if err := p.Validate(); err != nil {
			return fail(i, err)
		}
		if !accountExists(p.AccountID) {
			return fail(i, &ValidationError{Entity: EntityInstanceProfile, Name: p.Name, Field: "AccountID", Value: p.AccountID,
				Reason: "is not a declared account"})
		}
		key := lowerKey(p.AccountID, p.Name)
		if _, dup := profiles[key]; dup {
			return fail(i, &ValidationError{Entity: EntityInstanceProfile, Name: p.Name, Field: "Name", Value: p.Name,
				Reason: fmt.Sprintf("is declared more than once in account %s (names are case-insensitive)", p.AccountID)})
		}
		profiles[key] = i
		for _, rn := range p.Roles {
			rk := lowerKey(p.AccountID, rn)
			if _, ok := roles[rk]; !ok && !k.hasRole(rk) {
				return fail(i, &ValidationError{Entity: EntityInstanceProfile, Name: p.Name, Field: "Roles", Key: rn, Value: rn,
					Reason: fmt.Sprintf("is not a role in account %s", p.AccountID)})
			}
		}
	}
	return s.validateUsersAndProviders(fail, accountExists)
}

// validateUsersAndProviders checks the seed's users and identity providers: each
// valid, in a known account, declared once.
func (s Seed) validateUsersAndProviders(fail func(int, error) error, accountExists func(string) bool) error {
	named := func(entity string) func(account, name string) seedKey {
		return func(account, name string) seedKey {
			return seedKey{entity: entity, name: name, field: "Name", key: lowerKey(account, name),
				dup: fmt.Sprintf("is declared more than once in account %s (names are case-insensitive)", account)}
		}
	}
	if err := checkSeedList(s.Users, fail, accountExists, func(u User) (string, seedKey) {
		return u.AccountID, named(EntityUser)(u.AccountID, u.Name)
	}, User.Validate); err != nil {
		return err
	}
	if err := checkSeedList(s.OIDCProviders, fail, accountExists, func(p OIDCProvider) (string, seedKey) {
		return p.AccountID, seedKey{entity: EntityOIDCProvider, name: short(p.URL), field: "URL", key: roleKey{p.AccountID, p.URL},
			dup: fmt.Sprintf("is declared more than once in account %s", p.AccountID)}
	}, OIDCProvider.Validate); err != nil {
		return err
	}
	if err := checkSeedList(s.SAMLProviders, fail, accountExists, func(p SAMLProvider) (string, seedKey) {
		return p.AccountID, named(EntitySAMLProvider)(p.AccountID, p.Name)
	}, SAMLProvider.Validate); err != nil {
		return err
	}
	if err := checkSeedList(s.Groups, fail, accountExists, func(g Group) (string, seedKey) {
		return g.AccountID, named(EntityGroup)(g.AccountID, g.Name)
	}, Group.Validate); err != nil {
		return err
	}
	return checkSeedList(s.ManagedPolicies, fail, accountExists, func(p ManagedPolicy) (string, seedKey) {
		return p.AccountID, named(EntityPolicy)(p.AccountID, p.Name)
	}, ManagedPolicy.ValidateEntity)
}

// seedKey says how an entity of a seed list is named in errors and what
// makes two entries the same entity.
type seedKey struct {
	entity, name, field string
	key                 roleKey
	dup                 string // the reason for a duplicate
}

// checkSeedList checks one list of a seed: each entry valid, in a known
// account, declared once.
func checkSeedList[T any](items []T, fail func(int, error) error, accountExists func(string) bool,
	describe func(T) (string, seedKey), validate func(T) error) error {
	seen := make(map[roleKey]bool, len(items))
	for i, item := range items {
		if err := validate(item); err != nil {
			return fail(i, err)
		}
		account, k := describe(item)
		if !accountExists(account) {
			return fail(i, &ValidationError{Entity: k.entity, Name: k.name, Field: "AccountID", Value: account,
				Reason: "is not a declared account"})
		}
		if seen[k.key] {
			return fail(i, &ValidationError{Entity: k.entity, Name: k.name, Field: k.field, Value: k.name, Reason: k.dup})
		}
		seen[k.key] = true
	}
	return nil
}
