package rolestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// MaxManagedPolicies is how many managed policies IAM lets one user, group
// or role have attached by default (IAM quotas: "Managed policies attached
// to an IAM user/group/role: 10").
const MaxManagedPolicies = 10

// entity describes how users, groups and roles are stored, for what they
// share: inline policies, attached managed policies and, for users and
// roles, a permissions boundary.
type entity struct {
	kind        string // EntityUser, EntityGroup, EntityRole
	table       string // users
	attachTable string // user_attached_policies
	fk          string // user_pk
	quota       string // PoliciesPerUser
	maxInline   int    // aggregate size of inline policies
	label       string // "user", as in AWS's messages
	attached    string // the query of attachedARNs
}

func userEntity() entity {
	return entity{EntityUser, "users", "user_attached_policies", "user_pk", "PoliciesPerUser", MaxUserPoliciesLength, "user",
		`SELECT policy_arn FROM user_attached_policies WHERE user_pk = ? ORDER BY policy_arn`}
}

func groupEntity() entity {
	return entity{EntityGroup, "groups", "group_attached_policies", "group_pk", "PoliciesPerGroup", MaxGroupPoliciesLength, "group",
		`SELECT policy_arn FROM group_attached_policies WHERE group_pk = ? ORDER BY policy_arn`}
}

func roleEntity() entity {
	return entity{EntityRole, "roles", "role_attached_policies", "role_pk", "PoliciesPerRole", MaxRolePoliciesLength, "role",
		`SELECT policy_arn FROM role_attached_policies WHERE role_pk = ? ORDER BY policy_arn`}
}

// noSuch is AWS's NoSuchEntity message for a missing user, group or role.
func (e entity) noSuch(name string) error {
	return newError(CodeNoSuchEntity, "The %s with name %s cannot be found.", e.label, name)
}

// entityPK returns the row of a user, group or role by name
// (case-insensitive), or NoSuchEntity.
func entityPK(ctx context.Context, q querier, e entity, accountID, name string) (int64, error) {
	var pk int64
	err := q.QueryRowContext(ctx, `SELECT pk FROM `+e.table+` WHERE account_id = ? AND name = ?`, accountID, name).Scan(&pk)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, e.noSuch(name)
	}
	if err != nil {
		return 0, fmt.Errorf("rolestore: %s %s: %w", e.kind, name, err)
	}
	return pk, nil
}

// isPolicyARN reports whether arn has the shape of a managed policy ARN.
func isPolicyARN(arn string) bool {
	_, _, _, err := parseIAMARN(arn, "policy")
	return err == nil
}

// attachedARNs lists the ARNs attached to one entity, sorted.
func attachedARNs(ctx context.Context, q querier, e entity, pk int64) ([]string, error) {
	rows, err := q.QueryContext(ctx, e.attached, pk)
	if err != nil {
		return nil, fmt.Errorf("rolestore: attached policies: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("rolestore: attached policies: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// setAttached replaces an entity's attached policies with arns, each of
// which must exist.
func setAttached(ctx context.Context, tx *sql.Tx, e entity, pk int64, arns []string) error {
	if len(arns) > MaxManagedPolicies {
		return newError(CodeLimitExceeded, "Cannot exceed quota for %s: %d", e.quota, MaxManagedPolicies)
	}
	canon := make([]string, 0, len(arns))
	for _, a := range arns {
		c, err := resolvePolicyARN(ctx, tx, a)
		if err != nil {
			return err
		}
		canon = append(canon, c)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+e.attachTable+` WHERE `+e.fk+` = ?`, pk); err != nil {
		return fmt.Errorf("rolestore: attach policies: %w", err)
	}
	for _, c := range canon {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO `+e.attachTable+` (`+e.fk+`, policy_arn) VALUES (?, ?)`, pk, c); err != nil {
			return fmt.Errorf("rolestore: attach policies: %w", err)
		}
	}
	return nil
}

// attach attaches a managed policy to an entity; attaching it again is not
// an error (IAM's Attach*Policy are idempotent).
func (s *SQLite) attach(ctx context.Context, e entity, accountID, name, policyARN string) error {
	return s.write(ctx, "attach "+e.kind+" policy", func(tx *sql.Tx) error {
		pk, err := entityPK(ctx, tx, e, accountID, name)
		if err != nil {
			return err
		}
		arn, err := resolvePolicyARN(ctx, tx, policyARN)
		if err != nil {
			return err
		}
		have, err := attachedARNs(ctx, tx, e, pk)
		if err != nil {
			return err
		}
		for _, a := range have {
			if a == arn {
				return nil
			}
		}
		if len(have) >= MaxManagedPolicies {
			return newError(CodeLimitExceeded, "Cannot exceed quota for %s: %d", e.quota, MaxManagedPolicies)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+e.attachTable+` (`+e.fk+`, policy_arn) VALUES (?, ?)`, pk, arn); err != nil {
			return fmt.Errorf("rolestore: attach %s policy: %w", e.kind, err)
		}
		return nil
	})
}

// detach detaches a managed policy; one not attached is NoSuchEntity.
func (s *SQLite) detach(ctx context.Context, e entity, accountID, name, policyARN string) error {
	return s.write(ctx, "detach "+e.kind+" policy", func(tx *sql.Tx) error {
		pk, err := entityPK(ctx, tx, e, accountID, name)
		if err != nil {
			return err
		}
		arn := policyARN
		if c, err := resolvePolicyARN(ctx, tx, policyARN); err == nil {
			arn = c
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM `+e.attachTable+` WHERE `+e.fk+` = ? AND policy_arn = ?`, pk, arn)
		if err != nil {
			return fmt.Errorf("rolestore: detach %s policy: %w", e.kind, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return newError(CodeNoSuchEntity, "Policy %s was not found.", policyARN)
		}
		return nil
	})
}

// AttachUserPolicy attaches a managed policy (customer or AWS managed) to a
// user. An unknown policy is NoSuchEntity; an 11th policy LimitExceeded.
func (s *SQLite) AttachUserPolicy(ctx context.Context, accountID, userName, policyARN string) error {
	return s.attach(ctx, userEntity(), accountID, userName, policyARN)
}

// DetachUserPolicy detaches a managed policy from a user.
func (s *SQLite) DetachUserPolicy(ctx context.Context, accountID, userName, policyARN string) error {
	return s.detach(ctx, userEntity(), accountID, userName, policyARN)
}

// AttachGroupPolicy attaches a managed policy to a group.
func (s *SQLite) AttachGroupPolicy(ctx context.Context, accountID, groupName, policyARN string) error {
	return s.attach(ctx, groupEntity(), accountID, groupName, policyARN)
}

// DetachGroupPolicy detaches a managed policy from a group.
func (s *SQLite) DetachGroupPolicy(ctx context.Context, accountID, groupName, policyARN string) error {
	return s.detach(ctx, groupEntity(), accountID, groupName, policyARN)
}

// AttachRolePolicy attaches a managed policy to a role.
func (s *SQLite) AttachRolePolicy(ctx context.Context, accountID, roleName, policyARN string) error {
	return s.attach(ctx, roleEntity(), accountID, roleName, policyARN)
}

// DetachRolePolicy detaches a managed policy from a role.
func (s *SQLite) DetachRolePolicy(ctx context.Context, accountID, roleName, policyARN string) error {
	return s.detach(ctx, roleEntity(), accountID, roleName, policyARN)
}

// putInline adds or replaces one inline policy of an entity.
func (s *SQLite) putInline(ctx context.Context, e entity, accountID, name, policyName, doc string) error {
	if reason := checkName(policyName, 128); reason != "" {
		return &ValidationError{Entity: e.kind, Name: name, Field: "Policies", Key: policyName, Value: short(policyName), Reason: "name " + reason}
	}
	if _, reason := checkDocument(doc); reason != "" {
		return newError(CodeMalformedPolicyDocument, "The policy document %s.", reason)
	}
	if err := s.checkPolicyDoc(doc); err != nil {
		return err
	}
	return s.editInline(ctx, e, accountID, name, func(m map[string]string) error {
		m[policyName] = doc
		if _, reason := checkPolicies(m, e.maxInline); reason != "" {
			return newError(CodeLimitExceeded, "Maximum policy size of %d bytes exceeded for %s %s.", e.maxInline, e.label, name)
		}
		return nil
	})
}

// deleteInline deletes one inline policy; a missing one is NoSuchEntity.
func (s *SQLite) deleteInline(ctx context.Context, e entity, accountID, name, policyName string) error {
	return s.editInline(ctx, e, accountID, name, func(m map[string]string) error {
		for k := range m {
			if strings.EqualFold(k, policyName) {
				delete(m, k)
				return nil
			}
		}
		return newError(CodeNoSuchEntity, "The %s policy with name %s cannot be found.", e.label, policyName)
	})
}

func (s *SQLite) editInline(ctx context.Context, e entity, accountID, name string, edit func(map[string]string) error) error {
	return s.write(ctx, "put "+e.kind+" policy", func(tx *sql.Tx) error {
		var (
			pk  int64
			raw string
		)
		err := tx.QueryRowContext(ctx, `SELECT pk, policies FROM `+e.table+` WHERE account_id = ? AND name = ?`, accountID, name).Scan(&pk, &raw)
		if errors.Is(err, sql.ErrNoRows) {
			return e.noSuch(name)
		}
		if err != nil {
			return fmt.Errorf("rolestore: %s %s: %w", e.kind, name, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return fmt.Errorf("rolestore: %s %s: decode policies: %w", e.kind, name, err)
		}
		if err := edit(m); err != nil {
			return err
		}
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("rolestore: %s %s: %w", e.kind, name, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE `+e.table+` SET policies = ? WHERE pk = ?`, string(b), pk); err != nil {
			return fmt.Errorf("rolestore: %s %s: %w", e.kind, name, err)
		}
		return nil
	})
}

// PutUserPolicy adds or replaces an inline policy of a user (IAM
// PutUserPolicy). The user's inline policies may total MaxUserPoliciesLength
// characters without whitespace (LimitExceeded past that).
func (s *SQLite) PutUserPolicy(ctx context.Context, accountID, userName, policyName, doc string) error {
	return s.putInline(ctx, userEntity(), accountID, userName, policyName, doc)
}

// DeleteUserPolicy deletes an inline policy of a user.
func (s *SQLite) DeleteUserPolicy(ctx context.Context, accountID, userName, policyName string) error {
	return s.deleteInline(ctx, userEntity(), accountID, userName, policyName)
}

// PutGroupPolicy adds or replaces an inline policy of a group (at most
// MaxGroupPoliciesLength characters in all).
func (s *SQLite) PutGroupPolicy(ctx context.Context, accountID, groupName, policyName, doc string) error {
	return s.putInline(ctx, groupEntity(), accountID, groupName, policyName, doc)
}

// DeleteGroupPolicy deletes an inline policy of a group.
func (s *SQLite) DeleteGroupPolicy(ctx context.Context, accountID, groupName, policyName string) error {
	return s.deleteInline(ctx, groupEntity(), accountID, groupName, policyName)
}

// PutRolePolicy adds or replaces an inline policy of a role (at most
// MaxRolePoliciesLength characters in all).
func (s *SQLite) PutRolePolicy(ctx context.Context, accountID, roleName, policyName, doc string) error {
	return s.putInline(ctx, roleEntity(), accountID, roleName, policyName, doc)
}

// DeleteRolePolicy deletes an inline policy of a role.
func (s *SQLite) DeleteRolePolicy(ctx context.Context, accountID, roleName, policyName string) error {
	return s.deleteInline(ctx, roleEntity(), accountID, roleName, policyName)
}

// setBoundary sets (or with "" removes) the permissions boundary of a user
// or role: a managed policy that must exist.
func (s *SQLite) setBoundary(ctx context.Context, e entity, accountID, name, policyARN string) error {
	return s.write(ctx, "put "+e.kind+" permissions boundary", func(tx *sql.Tx) error {
		pk, err := entityPK(ctx, tx, e, accountID, name)
		if err != nil {
			return err
		}
		arn := ""
		if policyARN != "" {
			if arn, err = resolvePolicyARN(ctx, tx, policyARN); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE `+e.table+` SET permissions_boundary = ? WHERE pk = ?`, arn, pk); err != nil {
			return fmt.Errorf("rolestore: %s %s: %w", e.kind, name, err)
		}
		return nil
	})
}

// SetUserPermissionsBoundary sets the permissions boundary of a user to a
// managed policy (IAM PutUserPermissionsBoundary); "" removes it
// (DeleteUserPermissionsBoundary). An unknown policy is NoSuchEntity.
func (s *SQLite) SetUserPermissionsBoundary(ctx context.Context, accountID, userName, policyARN string) error {
	return s.setBoundary(ctx, userEntity(), accountID, userName, policyARN)
}

// SetRolePermissionsBoundary sets or removes the permissions boundary of a role.
func (s *SQLite) SetRolePermissionsBoundary(ctx context.Context, accountID, roleName, policyARN string) error {
	return s.setBoundary(ctx, roleEntity(), accountID, roleName, policyARN)
}

// PolicyEntities are the users, groups and roles a managed policy is
// attached to (IAM ListEntitiesForPolicy), names sorted.
type PolicyEntities struct {
	Users, Groups, Roles []string
}

// PolicyEntities lists who a managed policy is attached to, in one account
// (an AWS managed policy may be attached in several).
func (s *SQLite) PolicyEntities(ctx context.Context, accountID, policyARN string) (PolicyEntities, error) {
	arn, err := resolvePolicyARN(ctx, s.db, policyARN)
	if err != nil {
		return PolicyEntities{}, err
	}
	var out PolicyEntities
	for _, x := range []struct {
		e   entity
		dst *[]string
	}{{userEntity(), &out.Users}, {groupEntity(), &out.Groups}, {roleEntity(), &out.Roles}} {
		rows, err := s.db.QueryContext(ctx, `SELECT t.name FROM `+x.e.attachTable+` a JOIN `+x.e.table+` t ON t.pk = a.`+x.e.fk+`
WHERE a.policy_arn = ? AND t.account_id = ?`, arn, accountID)
		if err != nil {
			return PolicyEntities{}, fmt.Errorf("rolestore: entities for policy: %w", err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return PolicyEntities{}, fmt.Errorf("rolestore: entities for policy: %w", err)
			}
			*x.dst = append(*x.dst, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return PolicyEntities{}, fmt.Errorf("rolestore: entities for policy: %w", err)
		}
		sort.Strings(*x.dst)
	}
	return out, nil
}

// checkPolicyDocs runs the configured policy check on inline documents.
func (s *SQLite) checkPolicyDocs(m map[string]string) error {
	for _, name := range sortedKeys(m) {
		if err := s.checkPolicyDoc(m[name]); err != nil {
			return err
		}
	}
	return nil
}

// checkPolicyDoc runs Options.CheckPolicy; its error becomes
// MalformedPolicyDocument.
func (s *SQLite) checkPolicyDoc(doc string) error {
	if s.checkPolicy == nil {
		return nil
	}
	if err := s.checkPolicy(doc); err != nil {
		return newError(CodeMalformedPolicyDocument, "%s", err.Error())
	}
	return nil
}
