package rolestore

// Roles and instance profiles in the SQLite store: writes, lookups, lists.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// PutRole creates or updates a role; see Store.
func (s *SQLite) PutRole(ctx context.Context, r Role) (Role, error) {
	if err := r.Validate(); err != nil {
		return Role{}, err
	}
	var out Role
	err := s.write(ctx, "put role", func(tx *sql.Tx) error {
		var err error
		out, err = s.putRole(ctx, tx, r)
		return err
	})
	if err != nil {
		return Role{}, err
	}
	return out, nil
}

// putRole upserts a validated role inside tx. Callers hold s.mu.
func (s *SQLite) putRole(ctx context.Context, tx *sql.Tx, r Role) (Role, error) {
	if err := accountExists(ctx, tx, EntityRole, r.Name, r.AccountID); err != nil {
		return Role{}, err
	}
	pk, id, createdAt, err := s.identity(ctx, tx, "roles", "role_id", RoleIDPrefix, r.AccountID, r.Name, r.ID, r.CreatedAt)
	if err != nil {
		return Role{}, err
	}
	policies, err := json.Marshal(nonNilMap(r.Policies))
	if err != nil {
		return Role{}, fmt.Errorf("rolestore: put role %s: %w", r.Name, err)
	}
	tags, err := json.Marshal(nonNilTags(r.Tags))
	if err != nil {
		return Role{}, fmt.Errorf("rolestore: put role %s: %w", r.Name, err)
	}
	boundary := ""
	if r.PermissionsBoundary != "" {
		if boundary, err = resolvePolicyARN(ctx, tx, r.PermissionsBoundary); err != nil {
			return Role{}, err
		}
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO roles
	(account_id, name, path, role_id, description, trust_policy, policies, max_session_seconds, tags, created_at,
	 permissions_boundary)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account_id, name) DO UPDATE SET
	name = excluded.name, path = excluded.path, role_id = excluded.role_id,
	description = excluded.description, trust_policy = excluded.trust_policy,
	policies = excluded.policies, max_session_seconds = excluded.max_session_seconds,
	tags = excluded.tags, permissions_boundary = excluded.permissions_boundary
RETURNING pk`,
		r.AccountID, r.Name, pathOrRoot(r.Path), id, r.Description, r.TrustPolicy, string(policies),
		int64(r.EffectiveMaxSessionDuration()/time.Second), string(tags), createdAt, boundary).Scan(&pk)
	if err != nil {
		return Role{}, fmt.Errorf("rolestore: put role %s: %w", r.Name, err)
	}
	if err := setAttached(ctx, tx, roleEntity(), pk, r.ManagedPolicies); err != nil {
		return Role{}, err
	}
	return getRole(ctx, tx, selectRole+`r.pk = ?`, pk)
}

func scanRole(row scanner) (int64, Role, error) {
	var (
		r                  Role
		pk, maxSec, create int64
		policies, tags     string
		attached           string
	)
	err := row.Scan(&pk, &r.AccountID, &r.Name, &r.Path, &r.ID, &r.Description, &r.TrustPolicy,
		&policies, &maxSec, &tags, &create, &r.PermissionsBoundary, &attached)
	if err != nil {
		return 0, Role{}, err
	}
	if r.ManagedPolicies, err = decodeList(attached); err != nil {
		return 0, Role{}, fmt.Errorf("rolestore: role %s: decode attached policies: %w", r.Name, err)
	}
	if err := json.Unmarshal([]byte(policies), &r.Policies); err != nil {
		return 0, Role{}, fmt.Errorf("rolestore: role %s: decode policies: %w", r.Name, err)
	}
	if len(r.Policies) == 0 {
		r.Policies = nil
	}
	if err := json.Unmarshal([]byte(tags), &r.Tags); err != nil {
		return 0, Role{}, fmt.Errorf("rolestore: role %s: decode tags: %w", r.Name, err)
	}
	if len(r.Tags) == 0 {
		r.Tags = nil
	}
	r.MaxSessionDuration = time.Duration(maxSec) * time.Second
	r.CreatedAt = time.Unix(0, create).UTC()
	return pk, r, nil
}

// getRole reads one role with query, selectRole and a condition.
func getRole(ctx context.Context, q querier, query string, args ...any) (Role, error) {
	_, r, err := scanRole(q.QueryRowContext(ctx, query, args...))
	return r, err
}

// lookupRole wraps sql.ErrNoRows as ErrNotFound with what.
func lookupRole(r Role, err error, what string) (Role, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return Role{}, &Error{Code: CodeNoSuchEntity, Message: fmt.Sprintf("The role with name %s cannot be found.", what)}
	}
	if err != nil {
		return Role{}, fmt.Errorf("rolestore: role %s: %w", what, err)
	}
	return r, nil
}

// Role returns a role by account and name.
func (s *SQLite) Role(ctx context.Context, accountID, name string) (Role, error) {
	r, err := getRole(ctx, s.reader(), roleByName, accountID, name)
	return lookupRole(r, err, name)
}

// RoleByARN returns a role by ARN.
func (s *SQLite) RoleByARN(ctx context.Context, arn string) (Role, error) {
	account, path, name, err := ParseRoleARN(arn)
	if err != nil {
		return Role{}, fmt.Errorf("role %q: malformed ARN: %w", arn, ErrNotFound)
	}
	r, err := getRole(ctx, s.reader(), roleByName, account, name)
	if err == nil && r.Path != path {
		err = sql.ErrNoRows
	}
	return lookupRole(r, err, arn)
}

// RoleByID returns a role by its unique ID.
func (s *SQLite) RoleByID(ctx context.Context, id string) (Role, error) {
	r, err := getRole(ctx, s.reader(), roleByID, id)
	return lookupRole(r, err, id)
}

// Roles lists roles; see Store.
func (s *SQLite) Roles(ctx context.Context, accountID string) ([]Role, error) {
	return scanRows(ctx, s.db, "roles", scanRole, selectRole+`? = '' OR r.account_id = ? ORDER BY r.account_id, r.name`,
		accountID, accountID)
}

// DeleteRole deletes a role that is in no instance profile.
func (s *SQLite) DeleteRole(ctx context.Context, accountID, name string) error {
	return s.write(ctx, "delete role", func(tx *sql.Tx) error {
		var pk int64
		err := tx.QueryRowContext(ctx, `SELECT pk FROM roles WHERE account_id = ? AND name = ?`, accountID, name).Scan(&pk)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("role %s/%s: %w", accountID, name, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("rolestore: delete role %s/%s: %w", accountID, name, err)
		}
		var profile string
		err = tx.QueryRowContext(ctx, `SELECT p.name FROM instance_profile_roles pr
JOIN instance_profiles p ON p.pk = pr.profile_pk WHERE pr.role_pk = ? ORDER BY p.name LIMIT 1`, pk).Scan(&profile)
		switch {
		case err == nil:
			return fmt.Errorf("role %s/%s is in instance profile %q: %w", accountID, name, profile, ErrConflict)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("rolestore: delete role %s/%s: %w", accountID, name, err)
		}
		arns, err := attachedARNs(ctx, tx, roleEntity(), pk)
		if err != nil {
			return err
		}
		if len(arns) > 0 {
			return newError(CodeDeleteConflict, "Cannot delete entity, must detach all policies first.")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM roles WHERE pk = ?`, pk); err != nil {
			return fmt.Errorf("rolestore: delete role %s/%s: %w", accountID, name, err)
		}
		return nil
	})
}

// PutInstanceProfile creates or updates an instance profile; see Store.
func (s *SQLite) PutInstanceProfile(ctx context.Context, p InstanceProfile) (InstanceProfile, error) {
	if err := p.Validate(); err != nil {
		return InstanceProfile{}, err
	}
	var out InstanceProfile
	err := s.write(ctx, "put instance profile", func(tx *sql.Tx) error {
		var err error
		out, err = s.putInstanceProfile(ctx, tx, p)
		return err
	})
	if err != nil {
		return InstanceProfile{}, err
	}
	return out, nil
}

func (s *SQLite) putInstanceProfile(ctx context.Context, tx *sql.Tx, p InstanceProfile) (InstanceProfile, error) {
	if err := accountExists(ctx, tx, EntityInstanceProfile, p.Name, p.AccountID); err != nil {
		return InstanceProfile{}, err
	}
	rolePKs := make([]int64, 0, len(p.Roles))
	for _, rn := range p.Roles {
		var pk int64
		err := tx.QueryRowContext(ctx, `SELECT pk FROM roles WHERE account_id = ? AND name = ?`, p.AccountID, rn).Scan(&pk)
		if errors.Is(err, sql.ErrNoRows) {
			return InstanceProfile{}, &ValidationError{Entity: EntityInstanceProfile, Name: p.Name, Field: "Roles", Key: rn, Value: rn,
				Reason: fmt.Sprintf("is not a role in account %s", p.AccountID)}
		}
		if err != nil {
			return InstanceProfile{}, fmt.Errorf("rolestore: put instance profile %s: %w", p.Name, err)
		}
		rolePKs = append(rolePKs, pk)
	}
	pk, id, createdAt, err := s.identity(ctx, tx, "instance_profiles", "profile_id", InstanceProfileIDPrefix, p.AccountID, p.Name, p.ID, p.CreatedAt)
	if err != nil {
		return InstanceProfile{}, err
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO instance_profiles (account_id, name, path, profile_id, created_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (account_id, name) DO UPDATE SET
	name = excluded.name, path = excluded.path, profile_id = excluded.profile_id
RETURNING pk`, p.AccountID, p.Name, pathOrRoot(p.Path), id, createdAt).Scan(&pk)
	if err != nil {
		return InstanceProfile{}, fmt.Errorf("rolestore: put instance profile %s: %w", p.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM instance_profile_roles WHERE profile_pk = ?`, pk); err != nil {
		return InstanceProfile{}, fmt.Errorf("rolestore: put instance profile %s: %w", p.Name, err)
	}
	for _, rpk := range rolePKs {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO instance_profile_roles (profile_pk, role_pk) VALUES (?, ?)`, pk, rpk); err != nil {
			return InstanceProfile{}, fmt.Errorf("rolestore: put instance profile %s: %w", p.Name, err)
		}
	}
	out, err := s.listInstanceProfiles(ctx, tx, selectProfiles+`p.pk = ?`+profilesOrder, pk)
	if err != nil {
		return InstanceProfile{}, err
	}
	return out[0], nil
}

// InstanceProfile returns a profile by account and name.
func (s *SQLite) InstanceProfile(ctx context.Context, accountID, name string) (InstanceProfile, error) {
	out, err := s.listInstanceProfiles(ctx, s.reader(), profileByName, accountID, name)
	if err != nil {
		return InstanceProfile{}, err
	}
	if len(out) == 0 {
		return InstanceProfile{}, fmt.Errorf("instance profile %s/%s: %w", accountID, name, ErrNotFound)
	}
	return out[0], nil
}

// InstanceProfiles lists profiles; see Store.
func (s *SQLite) InstanceProfiles(ctx context.Context, accountID string) ([]InstanceProfile, error) {
	return s.listInstanceProfiles(ctx, s.db, selectProfiles+`? = '' OR p.account_id = ?`+profilesOrder, accountID, accountID)
}

// listInstanceProfiles reads profiles: selectProfiles+condition+profilesOrder.
func (s *SQLite) listInstanceProfiles(ctx context.Context, q querier, query string, args ...any) ([]InstanceProfile, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("rolestore: list instance profiles: %w", err)
	}
	defer rows.Close()
	var (
		out    []InstanceProfile
		lastID string
	)
	for rows.Next() {
		var (
			p       InstanceProfile
			created int64
			role    sql.NullString
		)
		if err := rows.Scan(&p.AccountID, &p.Name, &p.Path, &p.ID, &created, &role); err != nil {
			return nil, fmt.Errorf("rolestore: list instance profiles: %w", err)
		}
		if p.ID != lastID {
			p.CreatedAt = time.Unix(0, created).UTC()
			out = append(out, p)
			lastID = p.ID
		}
		if role.Valid {
			last := &out[len(out)-1]
			last.Roles = append(last.Roles, role.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rolestore: list instance profiles: %w", err)
	}
	return out, nil
}
