package rolestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/internal/pattern"
)

// EntityUser names users in ValidationError.Entity.
const EntityUser = "user"

// IAM limits for users (botocore IAM model, IAM quotas).
const (
	// MaxUserPoliciesLength is the IAM quota for the aggregate size of a
	// user's inline policies, counted without whitespace.
	MaxUserPoliciesLength = 2048
	// MaxGroupsPerUser is how many groups IAM lets a user belong to.
	MaxGroupsPerUser = 10
)

// Immutable after package initialisation and safe for concurrent use.
var userIDRe = pattern.Lazy(`^AIDA[A-Z0-9]{17}$`)

// User is an IAM user: a long-term identity in one account, with inline
// permission policies, attached managed policies, a permissions boundary,
// tags, and the names of the groups it belongs to.
type User struct {
	AccountID string
	// Name matches [\w+=,.@-]{1,64}, unique per account without regard to case.
	Name string
	// Path is "/" or "/a/b/"; empty means "/".
	Path string
	// ID is "AIDA" and 17 base32 characters, assigned by the store when empty.
	ID string
	// Groups are the names of the user's groups, at most MaxGroupsPerUser,
	// sorted when read. PutUser makes the user a member of exactly these,
	// creating any that do not exist (path "/", no policies).
	Groups []string
	// Policies are the user's inline policies, name -> JSON document.
	Policies map[string]string
	// ManagedPolicies are the ARNs of the managed policies attached to the
	// user, sorted when read; PutUser replaces the attachments with them.
	ManagedPolicies []string
	// PermissionsBoundary is the ARN of the managed policy that bounds the
	// user's permissions, or "".
	PermissionsBoundary string
	Tags                []Tag
	CreatedAt           time.Time
}

// ARN returns the user's ARN, arn:aws:iam::ACCOUNT:user/PATH/NAME.
func (u User) ARN() string {
	return "arn:aws:iam::" + u.AccountID + ":user" + pathOrRoot(u.Path) + u.Name
}

// ParseUserARN splits a user ARN into account ID, path and name.
func ParseUserARN(arn string) (accountID, path, name string, err error) {
	return parseIAMARN(arn, "user")
}

// RootARN returns the ARN of an account's root user, arn:aws:iam::ACCOUNT:root.
func RootARN(accountID string) string { return "arn:aws:iam::" + accountID + ":root" }

// Validate checks the user against IAM's rules and returns a
// *ValidationError for the first problem.
func (u User) Validate() error {
	bad := func(field, key, value, reason string) error {
		return &ValidationError{Entity: EntityUser, Name: u.Name, Field: field, Key: key, Value: value, Reason: reason}
	}
	if err := checkIdentity(bad, u.AccountID, u.Name, 64, u.Path, u.ID, userIDRe, "AIDA"); err != nil {
		return err
	}
	if len(u.Groups) > MaxGroupsPerUser {
		return bad("Groups", "", "", fmt.Sprintf("must be at most %d, got %d", MaxGroupsPerUser, len(u.Groups)))
	}
	seen := map[string]bool{}
	for _, g := range u.Groups {
		if err := checkName(g, 128); err != "" {
			return bad("Groups", g, short(g), "group name "+err)
		}
		if seen[strings.ToLower(g)] {
			return bad("Groups", g, g, "is listed more than once")
		}
		seen[strings.ToLower(g)] = true
	}
	if key, reason := checkPolicies(u.Policies, MaxUserPoliciesLength); reason != "" {
		return bad("Policies", key, "", reason)
	}
	if arn, reason := checkPolicyARNs(u.ManagedPolicies); reason != "" {
		return bad("ManagedPolicies", arn, short(arn), reason)
	}
	if b := u.PermissionsBoundary; b != "" && !isPolicyARN(b) {
		return bad("PermissionsBoundary", "", short(b), "is not a managed policy ARN (arn:aws:iam::ACCOUNT:policy/PATH/NAME)")
	}
	if key, value, reason := checkTags(u.Tags); reason != "" {
		return bad("Tags", key, value, reason)
	}
	return nil
}

// PutUser creates or updates the user (AccountID, Name) and returns it as
// stored. The account must exist; so must its managed policies and
// boundary (NoSuchEntity). Its groups, attached policies and boundary
// replace those it had. An existing user keeps its ID and
// CreatedAt unless u.ID is set.
func (s *SQLite) PutUser(ctx context.Context, u User) (User, error) {
	if err := u.Validate(); err != nil {
		return User{}, err
	}
	var out User
	err := s.write(ctx, "put user", func(tx *sql.Tx) error {
		var err error
		out, err = s.putUser(ctx, tx, u)
		return err
	})
	if err != nil {
		return User{}, err
	}
	return out, nil
}

func (s *SQLite) putUser(ctx context.Context, tx *sql.Tx, u User) (User, error) {
	if err := accountExists(ctx, tx, EntityUser, u.Name, u.AccountID); err != nil {
		return User{}, err
	}
	pk, id, createdAt, err := s.identity(ctx, tx, "users", "user_id", UserIDPrefix, u.AccountID, u.Name, u.ID, u.CreatedAt)
	if err != nil {
		return User{}, err
	}
	boundary := ""
	if u.PermissionsBoundary != "" {
		if boundary, err = resolvePolicyARN(ctx, tx, u.PermissionsBoundary); err != nil {
			return User{}, err
		}
	}
	policies, err := json.Marshal(nonNilMap(u.Policies))
	if err != nil {
		return User{}, fmt.Errorf("rolestore: put user %s: %w", u.Name, err)
	}
	tags, err := json.Marshal(nonNilTags(u.Tags))
	if err != nil {
		return User{}, fmt.Errorf("rolestore: put user %s: %w", u.Name, err)
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO users
	(account_id, name, path, user_id, policies, permissions_boundary, tags, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account_id, name) DO UPDATE SET
	name = excluded.name, path = excluded.path, user_id = excluded.user_id,
	policies = excluded.policies, permissions_boundary = excluded.permissions_boundary, tags = excluded.tags
RETURNING pk`,
		u.AccountID, u.Name, pathOrRoot(u.Path), id, string(policies), boundary, string(tags), createdAt).Scan(&pk)
	if err != nil {
		return User{}, fmt.Errorf("rolestore: put user %s: %w", u.Name, err)
	}
	if err := s.setMembership(ctx, tx, u, pk); err != nil {
		return User{}, err
	}
	if err := setAttached(ctx, tx, userEntity(), pk, u.ManagedPolicies); err != nil {
		return User{}, err
	}
	out, err := getUser(ctx, tx, selectUser+`u.pk = ?`, pk)
	return lookupUser(out, err, u.Name)
}

// userColumns include the names of the user's groups and the attached
// policies' ARNs, each sorted, as JSON arrays, so that a user is one query.
const userColumns = `u.pk, u.account_id, u.name, u.path, u.user_id, u.policies, u.permissions_boundary, u.tags, u.created_at,
	(SELECT json_group_array(g.name ORDER BY g.name) FROM group_members m JOIN groups g ON g.pk = m.group_pk WHERE m.user_pk = u.pk),
	(SELECT json_group_array(a.policy_arn ORDER BY a.policy_arn) FROM user_attached_policies a WHERE a.user_pk = u.pk)`

func scanUser(row scanner) (int64, User, error) {
	var (
		u              User
		pk, create     int64
		policies, tags string
		groups, attach string
	)
	err := row.Scan(&pk, &u.AccountID, &u.Name, &u.Path, &u.ID, &policies, &u.PermissionsBoundary, &tags, &create, &groups, &attach)
	if err != nil {
		return 0, User{}, err
	}
	if u.Groups, err = decodeList(groups); err != nil {
		return 0, User{}, fmt.Errorf("rolestore: user %s: decode groups: %w", u.Name, err)
	}
	if u.ManagedPolicies, err = decodeList(attach); err != nil {
		return 0, User{}, fmt.Errorf("rolestore: user %s: decode attached policies: %w", u.Name, err)
	}
	if err := json.Unmarshal([]byte(policies), &u.Policies); err != nil {
		return 0, User{}, fmt.Errorf("rolestore: user %s: decode policies: %w", u.Name, err)
	}
	if err := json.Unmarshal([]byte(tags), &u.Tags); err != nil {
		return 0, User{}, fmt.Errorf("rolestore: user %s: decode tags: %w", u.Name, err)
	}
	if len(u.Policies) == 0 {
		u.Policies = nil
	}
	if len(u.Tags) == 0 {
		u.Tags = nil
	}
	u.CreatedAt = time.Unix(0, create).UTC()
	return pk, u, nil
}

// getUser reads one user with query, selectUser and a condition.
func getUser(ctx context.Context, q querier, query string, args ...any) (User, error) {
	_, u, err := scanUser(q.QueryRowContext(ctx, query, args...))
	return u, err
}

func lookupUser(u User, err error, what string) (User, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, &Error{Code: CodeNoSuchEntity, Message: fmt.Sprintf("The user with name %s cannot be found.", what)}
	}
	if err != nil {
		return User{}, fmt.Errorf("rolestore: user %s: %w", what, err)
	}
	return u, nil
}

// User returns a user by account and name (case-insensitive). STS asks on
// every request signed with a user's long-term key, so the answers are
// kept in memory while nothing is committed (see caches).
func (s *SQLite) User(ctx context.Context, accountID, name string) (User, error) {
	u, err := cachedRead(ctx, s, &s.cache.users, userKey{account: accountID, name: name}, func() (User, error) {
		u, err := getUser(ctx, s.reader(), userByName, accountID, name)
		return lookupUser(u, err, name)
	})
	return u.clone(), err
}

// UserByID returns a user by its unique ID (AIDA...), from memory as User.
func (s *SQLite) UserByID(ctx context.Context, id string) (User, error) {
	u, err := cachedRead(ctx, s, &s.cache.users, userKey{id: id}, func() (User, error) {
		u, err := getUser(ctx, s.reader(), userByID, id)
		return lookupUser(u, err, id)
	})
	return u.clone(), err
}

// Users lists the users of one account, or of all when accountID is "",
// sorted by account and name.
func (s *SQLite) Users(ctx context.Context, accountID string) ([]User, error) {
	return s.listUsers(ctx, s.db, `? = '' OR u.account_id = ?`, accountID, accountID)
}

func (s *SQLite) listUsers(ctx context.Context, q querier, where string, args ...any) ([]User, error) {
	return scanRows(ctx, q, "users", scanUser, selectUser+where+` ORDER BY u.account_id, u.name`, args...)
}
