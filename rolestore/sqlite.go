package rolestore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Store is everything a store implementation provides: the contract that
// SQLite (and a future shared store) fulfils and that one test suite checks.
// Implementations are safe for concurrent use. Every write validates its
// input before touching storage and either writes everything or nothing.
//
// Consumers do not take a Store: each declares the few methods it uses
// (sts.Directory, instance.Store, the admin API's Revocations), which
// *SQLite satisfies.
type Store interface {
	// PutAccount creates or updates an account.
	PutAccount(ctx context.Context, a Account) error
	// Account returns the account with the given ID or an error wrapping ErrNotFound.
	Account(ctx context.Context, id string) (Account, error)
	// PutRole creates or updates the role (AccountID, Name) and returns it as
	// stored: ID and CreatedAt filled in, Path and MaxSessionDuration
	// defaulted. The account must exist. An existing role keeps its ID and
	// CreatedAt unless r.ID is set.
	PutRole(ctx context.Context, r Role) (Role, error)
	// Role returns a role by account and name (case-insensitive), or an
	// error wrapping ErrNotFound.
	Role(ctx context.Context, accountID, name string) (Role, error)
	// RoleByARN returns the role whose ARN is arn; the path must match.
	RoleByARN(ctx context.Context, arn string) (Role, error)
	// RoleByID returns the role with the unique ID id (AROA...).
	RoleByID(ctx context.Context, id string) (Role, error)
	// Roles lists the roles of one account, or of all accounts when
	// accountID is "", sorted by account and name.
	Roles(ctx context.Context, accountID string) ([]Role, error)
	// DeleteRole deletes a role. It fails with an error wrapping ErrConflict
	// while the role is in an instance profile.
	DeleteRole(ctx context.Context, accountID, name string) error
	// PutInstanceProfile creates or updates the profile (AccountID, Name) and
	// returns it as stored. Its account and roles must exist.
	PutInstanceProfile(ctx context.Context, p InstanceProfile) (InstanceProfile, error)
	// InstanceProfile returns a profile by account and name (case-insensitive).
	InstanceProfile(ctx context.Context, accountID, name string) (InstanceProfile, error)
	// InstanceProfiles lists the profiles of one account, or of all when
	// accountID is "", sorted by account and name.
	InstanceProfiles(ctx context.Context, accountID string) ([]InstanceProfile, error)
	// DeleteInstanceProfile deletes a profile (not its role).
	DeleteInstanceProfile(ctx context.Context, accountID, name string) error
	// Apply validates s (cross references may be satisfied by the seed or
	// by what is already stored) and upserts it in one transaction; on any
	// error nothing is written. Entities absent from s are left alone.
	Apply(ctx context.Context, s Seed) error

	// PutUser creates or updates the user (AccountID, Name) and returns it
	// as stored, ID and CreatedAt filled in. The account must exist.
	PutUser(ctx context.Context, u User) (User, error)
	// User returns a user by account and name (case-insensitive).
	User(ctx context.Context, accountID, name string) (User, error)
	// UserByID returns a user by its unique ID (AIDA...).
	UserByID(ctx context.Context, id string) (User, error)
	// Users lists the users of one account, or of all when accountID is "".
	Users(ctx context.Context, accountID string) ([]User, error)
	// DeleteUser deletes a user with its access keys and MFA devices.
	DeleteUser(ctx context.Context, accountID, name string) error

	// PutAccessKey stores a new long-term access key of a user or of the
	// root user (UserName ""); at most MaxAccessKeysPerUser per owner.
	PutAccessKey(ctx context.Context, k AccessKey) (AccessKey, error)
	// AccessKey returns a key by ID, with UserID filled in.
	AccessKey(ctx context.Context, id string) (AccessKey, error)
	// AccessKeys lists the keys of one user ("" for the root user).
	AccessKeys(ctx context.Context, accountID, userName string) ([]AccessKey, error)
	// SetAccessKeyStatus activates or deactivates a key.
	SetAccessKeyStatus(ctx context.Context, id string, status AccessKeyStatus) error
	// DeleteAccessKey deletes a key.
	DeleteAccessKey(ctx context.Context, id string) error

	// PutMFADevice stores a new virtual MFA device.
	PutMFADevice(ctx context.Context, d MFADevice) (MFADevice, error)
	// MFADevice returns a device by serial number (its ARN).
	MFADevice(ctx context.Context, serial string) (MFADevice, error)
	// MFADevices lists the devices of one user ("" for the root user).
	MFADevices(ctx context.Context, accountID, userName string) ([]MFADevice, error)
	// DeleteMFADevice deletes a device.
	DeleteMFADevice(ctx context.Context, serial string) error

	// PutOIDCProvider creates or updates the provider (AccountID, URL).
	PutOIDCProvider(ctx context.Context, p OIDCProvider) (OIDCProvider, error)
	// OIDCProviders lists the OIDC providers of one account ("" for all).
	OIDCProviders(ctx context.Context, accountID string) ([]OIDCProvider, error)
	// PutSAMLProvider creates or updates the provider (AccountID, Name).
	PutSAMLProvider(ctx context.Context, p SAMLProvider) (SAMLProvider, error)
	// SAMLProvider returns a provider by account and name.
	SAMLProvider(ctx context.Context, accountID, name string) (SAMLProvider, error)
	// SAMLProviders lists the SAML providers of one account ("" for all).
	SAMLProviders(ctx context.Context, accountID string) ([]SAMLProvider, error)

	// Revoke denies every session of the role issued before notBefore.
	Revoke(ctx context.Context, roleARN string, notBefore time.Time) error
	// RevokedBefore returns the role's revocation time, zero when none.
	RevokedBefore(ctx context.Context, roleARN string) (time.Time, error)

	// Groups, membership, inline policies (groups.go, attach.go).
	CreateGroup(ctx context.Context, g Group) (Group, error)
	PutGroup(ctx context.Context, g Group) (Group, error)
	Group(ctx context.Context, accountID, name string) (Group, error)
	Groups(ctx context.Context, accountID string) ([]Group, error)
	GroupsForUser(ctx context.Context, accountID, userName string) ([]Group, error)
	GroupUsers(ctx context.Context, accountID, groupName string) ([]User, error)
	UpdateGroup(ctx context.Context, accountID, name, newName, newPath string) (Group, error)
	DeleteGroup(ctx context.Context, accountID, name string) error
	AddUserToGroup(ctx context.Context, accountID, groupName, userName string) error
	RemoveUserFromGroup(ctx context.Context, accountID, groupName, userName string) error
	PutUserPolicy(ctx context.Context, accountID, userName, policyName, doc string) error
	DeleteUserPolicy(ctx context.Context, accountID, userName, policyName string) error
	PutGroupPolicy(ctx context.Context, accountID, groupName, policyName, doc string) error
	DeleteGroupPolicy(ctx context.Context, accountID, groupName, policyName string) error
	PutRolePolicy(ctx context.Context, accountID, roleName, policyName, doc string) error
	DeleteRolePolicy(ctx context.Context, accountID, roleName, policyName string) error

	// Managed policies, versions, attachments, boundaries (managed.go, attach.go).
	CreatePolicy(ctx context.Context, p ManagedPolicy) (ManagedPolicy, error)
	Policy(ctx context.Context, arn string) (ManagedPolicy, error)
	Policies(ctx context.Context, accountID string) ([]ManagedPolicy, error)
	AWSPolicies(ctx context.Context) ([]ManagedPolicy, error)
	DeletePolicy(ctx context.Context, arn string) error
	CreatePolicyVersion(ctx context.Context, arn, doc string, setAsDefault bool) (PolicyVersion, error)
	PolicyVersion(ctx context.Context, arn, versionID string) (PolicyVersion, error)
	PolicyVersions(ctx context.Context, arn string) ([]PolicyVersion, error)
	DeletePolicyVersion(ctx context.Context, arn, versionID string) error
	SetDefaultPolicyVersion(ctx context.Context, arn, versionID string) error
	PolicyDocument(ctx context.Context, arn string) (string, error)
	PolicyEntities(ctx context.Context, accountID, arn string) (PolicyEntities, error)
	AttachUserPolicy(ctx context.Context, accountID, userName, arn string) error
	DetachUserPolicy(ctx context.Context, accountID, userName, arn string) error
	AttachGroupPolicy(ctx context.Context, accountID, groupName, arn string) error
	DetachGroupPolicy(ctx context.Context, accountID, groupName, arn string) error
	AttachRolePolicy(ctx context.Context, accountID, roleName, arn string) error
	DetachRolePolicy(ctx context.Context, accountID, roleName, arn string) error
	SetUserPermissionsBoundary(ctx context.Context, accountID, userName, arn string) error
	SetRolePermissionsBoundary(ctx context.Context, accountID, roleName, arn string) error

	// Effective permissions (permissions.go).
	UserPermissions(ctx context.Context, accountID, name string) (User, Permissions, error)
	RolePermissions(ctx context.Context, roleARN string) (Role, Permissions, error)

	// Close releases the store.
	Close() error
}

var _ Store = (*SQLite)(nil)

// Options configures OpenSQLite. The zero value is ready to use.
type Options struct {
	// Now returns the current time for CreatedAt; default time.Now.
	Now func() time.Time
	// Rand is the randomness for IDs; default crypto/rand.Reader.
	Rand io.Reader
	// CheckPolicy, when set, checks every managed policy document and
	// group or inline policy document written through the IAM methods
	// (CreatePolicy, CreatePolicyVersion, Put*Policy, PutGroup) against the
	// IAM policy grammar; its error becomes a MalformedPolicyDocument
	// *Error with the same message. cmd passes the policy package's parser.
	// Without it only the JSON shape and the size quotas are checked.
	CheckPolicy func(doc string) error
}

// SQLite is the embedded Store: one SQLite file in WAL mode. Readers run
// concurrently; writers are serialised.
type SQLite struct {
	db   *sql.DB
	now  func() time.Time
	rand io.Reader
	// checkPolicy is Options.CheckPolicy.
	checkPolicy func(doc string) error

	// mu serialises writes (so transactions never fight over the write
	// lock) and guards rand, which need not be safe for concurrent use.
	mu sync.Mutex

	rev   revocations // the revocations table in memory, for RevokedBefore
	cache caches      // reads kept in memory while nothing is committed (cache.go)

	stmts   prepared        // the hot reads' statements (prepared.go)
	readerQ preparedQuerier // runs them on db, for reads outside a transaction
}

// busyTimeout is how long a connection waits for another process's write lock.
const busyTimeout = 5 * time.Second

// cacheKiB bounds each connection's page cache (PRAGMA cache_size, in KiB;
// SQLite's default is 2,000 KiB). The database of a typical configuration
// is about 50 pages, and the pure-Go SQLite's allocator keeps what the
// cache once held: with the default every connection (serve keeps two)
// ends up caching every page it touched at start, about 0.35 MB of
// resident memory in all, for reads that the OS page cache answers anyway.
// The hot paths do not read the database (revocations, sessions and
// signing keys are held in memory).
const cacheKiB = 64

// OpenSQLite opens or creates the SQLite database at path, enables WAL mode,
// a busy timeout and foreign keys, and migrates the schema to the latest
// version. path may be ":memory:" for a private in-memory database.
// A new database file is created 0600; a database, -wal or -shm file, or a
// directory, that group or others can read is an error naming the chmod
// that fixes it. ctx bounds the connection check and the migration.
func OpenSQLite(ctx context.Context, path string, opts Options) (*SQLite, error) {
	if path == "" {
		return nil, errors.New("rolestore: open sqlite: empty path")
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("rolestore: open sqlite: path %q must not contain '?'", path)
	}
	if path != ":memory:" {
		if err := ensurePrivate(path); err != nil {
			return nil, err
		}
	}
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_foreign_keys", "1")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	// BEGIN IMMEDIATE takes the write lock up front, so a transaction never
	// fails to upgrade from reader to writer (SQLITE_BUSY_SNAPSHOT) when
	// another process writes.
	q.Set("_txlock", "immediate")
	q.Set("_pragma", fmt.Sprintf("cache_size(-%d)", cacheKiB))
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("rolestore: open sqlite %s: %w", path, err)
	}
	if path == ":memory:" {
		// Every connection to ":memory:" is a different database.
		db.SetMaxOpenConns(1)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("rolestore: open sqlite %s: %w", path, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("rolestore: open sqlite %s: %w", path, err)
	}
	stmts, err := prepare(ctx, db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("rolestore: open sqlite %s: %w", path, err)
	}
	s := &SQLite{db: db, now: opts.Now, rand: opts.Rand, checkPolicy: opts.CheckPolicy, stmts: stmts, readerQ: preparedQuerier{q: db, p: stmts}}
	s.rev.path = path
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	return s, nil
}

// Close closes the prepared statements and the database.
func (s *SQLite) Close() error { return errors.Join(s.stmts.close(), s.rev.close(s.db)) }

// querier is what reads need from *sql.DB and *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// write runs fn in one transaction under the writer lock.
func (s *SQLite) write(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("rolestore: %s: %w", op, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("rolestore: %s: %w", op, err)
	}
	s.rev.gen.Add(1)
	return nil
}

// PutAccount creates or updates an account.
func (s *SQLite) PutAccount(ctx context.Context, a Account) error {
	if err := a.Validate(); err != nil {
		return err
	}
	return s.write(ctx, "put account", func(tx *sql.Tx) error {
		return putAccount(ctx, tx, a)
	})
}

func putAccount(ctx context.Context, tx *sql.Tx, a Account) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, alias) VALUES (?, ?)
ON CONFLICT (id) DO UPDATE SET alias = excluded.alias`, a.ID, a.Alias)
	if err != nil {
		return fmt.Errorf("rolestore: put account %s: %w", a.ID, err)
	}
	return nil
}

// Account returns an account by ID.
func (s *SQLite) Account(ctx context.Context, id string) (Account, error) {
	var a Account
	err := s.db.QueryRowContext(ctx, `SELECT id, alias FROM accounts WHERE id = ?`, id).Scan(&a.ID, &a.Alias)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("account %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("rolestore: account %s: %w", id, err)
	}
	return a, nil
}

func (s *SQLite) createdAt(given time.Time) int64 {
	if !given.IsZero() {
		return given.UnixNano()
	}
	return s.now().UnixNano()
}

// identity returns the row, unique ID and creation time an upsert of the
// entity (accountID, name) in table keeps: those stored, or for a new
// entity pk 0, the given ID (else a new one with prefix) and the given
// creation time (else now). A given ID replaces the stored one; it must not
// belong to another row (ErrConflict).
func (s *SQLite) identity(ctx context.Context, tx *sql.Tx, table, idColumn, prefix, accountID, name, givenID string,
	givenCreated time.Time) (pk int64, id string, createdAt int64, err error) {
	err = tx.QueryRowContext(ctx, `SELECT pk, `+idColumn+`, created_at FROM `+table+` WHERE account_id = ? AND name = ?`,
		accountID, name).Scan(&pk, &id, &createdAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		pk, createdAt, id = 0, s.createdAt(givenCreated), givenID
		if id == "" {
			if id, err = NewID(prefix, s.rand); err != nil {
				return 0, "", 0, err
			}
		}
	case err != nil:
		return 0, "", 0, fmt.Errorf("rolestore: put %s %s: %w", table, name, err)
	case givenID != "":
		id = givenID
	}
	if err := idFree(ctx, tx, table, idColumn, id, pk); err != nil {
		return 0, "", 0, fmt.Errorf("%s %s: %w", table, name, err)
	}
	return pk, id, createdAt, nil
}

// idFree reports ErrConflict when another row than pk already has id.
func idFree(ctx context.Context, tx *sql.Tx, table, column, id string, pk int64) error {
	var other string
	err := tx.QueryRowContext(ctx, `SELECT name FROM `+table+` WHERE `+column+` = ? AND pk <> ?`, id, pk).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("rolestore: check id %s: %w", id, err)
	}
	return fmt.Errorf("ID %s already belongs to %q: %w", id, other, ErrConflict)
}

func accountExists(ctx context.Context, tx *sql.Tx, entity, name, accountID string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE id = ?`, accountID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return &ValidationError{Entity: entity, Name: name, Field: "AccountID", Value: accountID, Reason: "is not an existing account"}
	}
	if err != nil {
		return fmt.Errorf("rolestore: account %s: %w", accountID, err)
	}
	return nil
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilTags(t []Tag) []Tag {
	if t == nil {
		return []Tag{}
	}
	return t
}

// roleColumns include the attached policies' ARNs, sorted, as a JSON
// array, so that a role is one query.
const roleColumns = `r.pk, r.account_id, r.name, r.path, r.role_id, r.description, r.trust_policy,
	r.policies, r.max_session_seconds, r.tags, r.created_at, r.permissions_boundary,
	(SELECT json_group_array(a.policy_arn ORDER BY a.policy_arn) FROM role_attached_policies a WHERE a.role_pk = r.pk)`

// decodeList decodes a JSON array of strings, nil when empty.
func decodeList(s string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil || len(out) == 0 {
		return nil, err
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

// Apply validates and upserts a seed atomically; see Store.
func (s *SQLite) Apply(ctx context.Context, seed Seed) error {
	// Everything that needs no database is checked before the transaction.
	if err := seed.validate(known{account: always[string], role: always[roleKey]}); err != nil {
		return err
	}
	return s.write(ctx, "apply", func(tx *sql.Tx) error {
		k, err := loadKnown(ctx, tx)
		if err != nil {
			return err
		}
		if err := seed.validate(k); err != nil {
			return err
		}
		for _, a := range seed.Accounts {
			if err := putAccount(ctx, tx, a); err != nil {
				return err
			}
		}
		for i, p := range seed.ManagedPolicies {
			if err := s.putPolicy(ctx, tx, p); err != nil {
				return seedErr(i, err)
			}
		}
		for i, g := range seed.Groups {
			if _, err := s.putGroup(ctx, tx, g); err != nil {
				return seedErr(i, err)
			}
		}
		for i, r := range seed.Roles {
			if _, err := s.putRole(ctx, tx, r); err != nil {
				return seedErr(i, err)
			}
		}
		for i, p := range seed.InstanceProfiles {
			if _, err := s.putInstanceProfile(ctx, tx, p); err != nil {
				return seedErr(i, err)
			}
		}
		for i, u := range seed.Users {
			if _, err := s.putUser(ctx, tx, u); err != nil {
				return seedErr(i, err)
			}
		}
		for i, p := range seed.OIDCProviders {
			if err := s.putOIDCProvider(ctx, tx, p); err != nil {
				return seedErr(i, err)
			}
		}
		for i, p := range seed.SAMLProviders {
			if err := s.putSAMLProvider(ctx, tx, p); err != nil {
				return seedErr(i, err)
			}
		}
		return nil
	})
}

func seedErr(i int, err error) error {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return &SeedError{Index: i, Err: ve}
	}
	return err
}

func loadKnown(ctx context.Context, tx *sql.Tx) (known, error) {
	accounts := map[string]bool{}
	roles := map[roleKey]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT id, '' FROM accounts UNION ALL SELECT account_id, name FROM roles`)
	if err != nil {
		return known{}, fmt.Errorf("rolestore: apply: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var account, name string
		if err := rows.Scan(&account, &name); err != nil {
			return known{}, fmt.Errorf("rolestore: apply: %w", err)
		}
		if name == "" {
			accounts[account] = true
		} else {
			roles[lowerKey(account, name)] = true
		}
	}
	if err := rows.Err(); err != nil {
		return known{}, fmt.Errorf("rolestore: apply: %w", err)
	}
	return known{
		account: func(id string) bool { return accounts[id] },
		role:    func(k roleKey) bool { return roles[k] },
	}, nil
}
