package rolestore

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations returns the schema migrations in order; migration i (0-based)
// brings the schema to version i+1. Append new migrations; never edit one that
// has shipped.
func migrations() []string {
	return []string{
		// 1: accounts, roles, instance profiles.
		//
		// Names use COLLATE NOCASE because IAM names are unique without
		// regard to case; the ASCII-only folding of NOCASE is enough since
		// names are ASCII. Documents are stored as given; Policies and Tags
		// are JSON columns. Times are Unix nanoseconds, UTC.
		`
CREATE TABLE accounts (
	id    TEXT PRIMARY KEY NOT NULL,
	alias TEXT NOT NULL DEFAULT ''
);
CREATE TABLE roles (
	pk                  INTEGER PRIMARY KEY,
	account_id          TEXT NOT NULL REFERENCES accounts(id),
	name                TEXT NOT NULL COLLATE NOCASE,
	path                TEXT NOT NULL,
	role_id             TEXT NOT NULL UNIQUE,
	description         TEXT NOT NULL,
	trust_policy        TEXT NOT NULL,
	policies            TEXT NOT NULL,
	max_session_seconds INTEGER NOT NULL,
	tags                TEXT NOT NULL,
	created_at          INTEGER NOT NULL,
	UNIQUE (account_id, name)
);
CREATE TABLE instance_profiles (
	pk         INTEGER PRIMARY KEY,
	account_id TEXT NOT NULL REFERENCES accounts(id),
	name       TEXT NOT NULL COLLATE NOCASE,
	path       TEXT NOT NULL,
	profile_id TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	UNIQUE (account_id, name)
);
CREATE TABLE instance_profile_roles (
	profile_pk INTEGER NOT NULL REFERENCES instance_profiles(pk) ON DELETE CASCADE,
	role_pk    INTEGER NOT NULL REFERENCES roles(pk) ON DELETE RESTRICT,
	PRIMARY KEY (profile_pk, role_pk)
);
CREATE INDEX instance_profile_roles_role ON instance_profile_roles (role_pk);
`,
		// 2: IAM users and their long-term access keys and MFA devices,
		// identity providers, and role session revocations.
		//
		// An access key or MFA device with a NULL user_pk belongs to the
		// account root user. Secrets are stored as given: the database is
		// in the data directory, which only its owner can read.
		`
CREATE TABLE users (
	pk         INTEGER PRIMARY KEY,
	account_id TEXT NOT NULL REFERENCES accounts(id),
	name       TEXT NOT NULL COLLATE NOCASE,
	path       TEXT NOT NULL,
	user_id    TEXT NOT NULL UNIQUE,
	groups_json TEXT NOT NULL,
	policies   TEXT NOT NULL,
	tags       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (account_id, name)
);
CREATE TABLE access_keys (
	id         TEXT PRIMARY KEY NOT NULL,
	account_id TEXT NOT NULL REFERENCES accounts(id),
	user_pk    INTEGER REFERENCES users(pk) ON DELETE CASCADE,
	secret     TEXT NOT NULL,
	status     TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX access_keys_owner ON access_keys (account_id, user_pk);
CREATE TABLE mfa_devices (
	serial     TEXT PRIMARY KEY NOT NULL,
	account_id TEXT NOT NULL REFERENCES accounts(id),
	user_pk    INTEGER REFERENCES users(pk) ON DELETE CASCADE,
	secret     TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE TABLE oidc_providers (
	pk          INTEGER PRIMARY KEY,
	account_id  TEXT NOT NULL REFERENCES accounts(id),
	url         TEXT NOT NULL,
	client_ids  TEXT NOT NULL,
	thumbprints TEXT NOT NULL,
	jwks        TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	UNIQUE (account_id, url)
);
CREATE TABLE saml_providers (
	pk         INTEGER PRIMARY KEY,
	account_id TEXT NOT NULL REFERENCES accounts(id),
	name       TEXT NOT NULL COLLATE NOCASE,
	metadata   TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (account_id, name)
);
CREATE TABLE revocations (
	role_arn   TEXT PRIMARY KEY NOT NULL,
	not_before INTEGER NOT NULL
);
`,
		// 3: groups and their members, customer managed policies and
		// their versions, attachments of managed policies (customer or
		// AWS managed, by ARN) to users, groups and roles, and permissions
		// boundaries of users and roles.
		//
		// The group names users.groups_json held become groups (path "/",
		// no policies) with those users as members; the column goes.
		// An attachment holds the policy's ARN, so that AWS managed
		// policies, which live in the binary, need no row.
		`
CREATE TABLE groups (
	pk         INTEGER PRIMARY KEY,
	account_id TEXT NOT NULL REFERENCES accounts(id),
	name       TEXT NOT NULL COLLATE NOCASE,
	path       TEXT NOT NULL,
	group_id   TEXT NOT NULL UNIQUE,
	policies   TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (account_id, name)
);
CREATE TABLE group_members (
	group_pk INTEGER NOT NULL REFERENCES groups(pk) ON DELETE RESTRICT,
	user_pk  INTEGER NOT NULL REFERENCES users(pk) ON DELETE CASCADE,
	PRIMARY KEY (group_pk, user_pk)
);
CREATE INDEX group_members_user ON group_members (user_pk);
CREATE TABLE managed_policies (
	pk              INTEGER PRIMARY KEY,
	account_id      TEXT NOT NULL REFERENCES accounts(id),
	name            TEXT NOT NULL COLLATE NOCASE,
	path            TEXT NOT NULL,
	policy_id       TEXT NOT NULL UNIQUE,
	description     TEXT NOT NULL,
	default_version INTEGER NOT NULL,
	next_version    INTEGER NOT NULL,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	UNIQUE (account_id, name)
);
CREATE TABLE policy_versions (
	policy_pk  INTEGER NOT NULL REFERENCES managed_policies(pk) ON DELETE CASCADE,
	version    INTEGER NOT NULL,
	document   TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (policy_pk, version)
);
CREATE TABLE user_attached_policies (
	user_pk    INTEGER NOT NULL REFERENCES users(pk) ON DELETE CASCADE,
	policy_arn TEXT NOT NULL,
	PRIMARY KEY (user_pk, policy_arn)
);
CREATE INDEX user_attached_policies_arn ON user_attached_policies (policy_arn);
CREATE TABLE group_attached_policies (
	group_pk   INTEGER NOT NULL REFERENCES groups(pk) ON DELETE CASCADE,
	policy_arn TEXT NOT NULL,
	PRIMARY KEY (group_pk, policy_arn)
);
CREATE INDEX group_attached_policies_arn ON group_attached_policies (policy_arn);
CREATE TABLE role_attached_policies (
	role_pk    INTEGER NOT NULL REFERENCES roles(pk) ON DELETE CASCADE,
	policy_arn TEXT NOT NULL,
	PRIMARY KEY (role_pk, policy_arn)
);
CREATE INDEX role_attached_policies_arn ON role_attached_policies (policy_arn);
ALTER TABLE users ADD COLUMN permissions_boundary TEXT NOT NULL DEFAULT '';
ALTER TABLE roles ADD COLUMN permissions_boundary TEXT NOT NULL DEFAULT '';
INSERT OR IGNORE INTO groups (account_id, name, path, group_id, policies, created_at)
	SELECT u.account_id, j.value, '/', 'AGPA' || substr(upper(hex(randomblob(9))), 1, 17), '{}', u.created_at
	FROM users u, json_each(u.groups_json) j ORDER BY u.created_at;
INSERT OR IGNORE INTO group_members (group_pk, user_pk)
	SELECT g.pk, u.pk FROM users u, json_each(u.groups_json) j
	JOIN groups g ON g.account_id = u.account_id AND g.name = j.value;
ALTER TABLE users DROP COLUMN groups_json;
`,
	}
}

// migrate brings the database to the latest schema version in one
// transaction. It refuses a database written by a newer imdsemu.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("rolestore: migrate: %w", err)
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
	version    INTEGER PRIMARY KEY NOT NULL,
	applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
)`); err != nil {
		return fmt.Errorf("rolestore: migrate: create schema_version: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return fmt.Errorf("rolestore: migrate: read schema version: %w", err)
	}
	all := migrations()
	if current > len(all) {
		return fmt.Errorf("rolestore: database schema version %d is newer than this imdsemu supports (%d)", current, len(all))
	}
	for i := current; i < len(all); i++ {
		if _, err := tx.ExecContext(ctx, all[i]); err != nil {
			return fmt.Errorf("rolestore: migrate to version %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, i+1); err != nil {
			return fmt.Errorf("rolestore: migrate to version %d: %w", i+1, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("rolestore: migrate: %w", err)
	}
	return nil
}

// SchemaVersion reports the schema version of the open database.
func (s *SQLite) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("rolestore: schema version: %w", err)
	}
	return v, nil
}
