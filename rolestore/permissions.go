package rolestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// Kinds of PolicyDocument.Kind: where an identity-based policy comes from.
const (
	PolicyInlineUser  = "inline-user"
	PolicyInlineGroup = "inline-group"
	PolicyInlineRole  = "inline-role"
	PolicyManaged     = "managed"
)

// PolicyDocument is one identity-based policy that applies to a principal.
type PolicyDocument struct {
	// Name says where it comes from: "inline:NAME" for the principal's
	// own inline policy, "group/GROUP:inline:NAME" for a group's, the ARN
	// for an attached managed policy ("group/GROUP:ARN" through a group).
	Name string
	// Kind is PolicyInlineUser, PolicyInlineGroup, PolicyInlineRole or
	// PolicyManaged.
	Kind     string
	Document string
}

// Permissions are the identity-based policies of a user or role as IAM
// evaluates them: for a user its inline and attached managed policies and
// those of each of its groups; for a role its inline and attached managed
// policies. Boundary is the permissions boundary's document, nil when
// there is none.
type Permissions struct {
	Policies []PolicyDocument
	Boundary *PolicyDocument
}

// UserPermissions returns a user and its effective identity-based policies,
// read in one transaction so that a concurrent change is seen whole or not
// at all. A managed policy attached but no longer known (an AWS managed
// policy dropped from the catalogue) is left out.
//
// STS asks on every request of an IAM user, so the answers are kept in
// memory for as long as nothing is committed (see commitCache): callers
// must not modify what they get.
func (s *SQLite) UserPermissions(ctx context.Context, accountID, name string) (User, Permissions, error) {
	e, err := cachedRead(ctx, s, &s.cache.perms, permKey{user: lowerKey(accountID, name)}, func() (permEntry, error) {
		u, perm, err := s.readUserPermissions(ctx, accountID, name)
		return permEntry{user: u, perm: perm}, err
	})
	return e.user, e.perm, err
}

func (s *SQLite) readUserPermissions(ctx context.Context, accountID, name string) (User, Permissions, error) {
	var (
		u    User
		perm Permissions
	)
	err := s.read(ctx, func(q querier) error {
		var err error
		u, err = getUser(ctx, q, userByName, accountID, name)
		if u, err = lookupUser(u, err, name); err != nil {
			return err
		}
		perm.Policies = inlineDocs(perm.Policies, "", PolicyInlineUser, u.Policies)
		if perm.Policies, err = managedDocs(ctx, q, perm.Policies, "", u.ManagedPolicies); err != nil {
			return err
		}
		groups, err := listGroups(ctx, q, groupsNamed, accountID, jsonList(u.Groups))
		if err != nil {
			return err
		}
		for _, g := range groups {
			prefix := "group/" + g.Name + ":"
			perm.Policies = inlineDocs(perm.Policies, prefix, PolicyInlineGroup, g.Policies)
			if perm.Policies, err = managedDocs(ctx, q, perm.Policies, prefix, g.ManagedPolicies); err != nil {
				return err
			}
		}
		perm.Boundary, err = boundaryDoc(ctx, q, u.PermissionsBoundary)
		return err
	})
	return u, perm, err
}

// RolePermissions returns a role (by ARN, as RoleByARN) and its effective
// identity-based policies.
// Its answers are kept in memory as UserPermissions' are.
func (s *SQLite) RolePermissions(ctx context.Context, roleARN string) (Role, Permissions, error) {
	e, err := cachedRead(ctx, s, &s.cache.perms, permKey{role: roleARN}, func() (permEntry, error) {
		r, perm, err := s.readRolePermissions(ctx, roleARN)
		return permEntry{role: r, perm: perm}, err
	})
	return e.role, e.perm, err
}

func (s *SQLite) readRolePermissions(ctx context.Context, roleARN string) (Role, Permissions, error) {
	var (
		r    Role
		perm Permissions
	)
	account, path, name, err := ParseRoleARN(roleARN)
	if err != nil {
		return Role{}, Permissions{}, newError(CodeNoSuchEntity, "The role with name %s cannot be found.", roleARN)
	}
	err = s.read(ctx, func(q querier) error {
		var err error
		r, err = getRole(ctx, q, roleByName, account, name)
		if err == nil && r.Path != path {
			err = sql.ErrNoRows
		}
		if r, err = lookupRole(r, err, name); err != nil {
			return err
		}
		perm.Policies = inlineDocs(perm.Policies, "", PolicyInlineRole, r.Policies)
		if perm.Policies, err = managedDocs(ctx, q, perm.Policies, "", r.ManagedPolicies); err != nil {
			return err
		}
		perm.Boundary, err = boundaryDoc(ctx, q, r.PermissionsBoundary)
		return err
	})
	return r, perm, err
}

func inlineDocs(out []PolicyDocument, prefix, kind string, m map[string]string) []PolicyDocument {
	for _, name := range sortedKeys(m) {
		out = append(out, PolicyDocument{Name: prefix + "inline:" + name, Kind: kind, Document: m[name]})
	}
	return out
}

func managedDocs(ctx context.Context, q querier, out []PolicyDocument, prefix string, arns []string) ([]PolicyDocument, error) {
	for _, arn := range arns {
		doc, err := policyDocument(ctx, q, arn)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, PolicyDocument{Name: prefix + arn, Kind: PolicyManaged, Document: doc})
	}
	return out, nil
}

// boundaryDoc returns the boundary's document. A boundary that no longer
// resolves bounds to nothing: an empty boundary allows nothing.
func boundaryDoc(ctx context.Context, q querier, arn string) (*PolicyDocument, error) {
	if arn == "" {
		return nil, nil
	}
	doc, err := policyDocument(ctx, q, arn)
	if errors.Is(err, ErrNotFound) {
		doc = `{"Version":"2012-10-17","Statement":[]}`
	} else if err != nil {
		return nil, err
	}
	return &PolicyDocument{Name: arn, Kind: PolicyManaged, Document: doc}, nil
}

// read runs fn in one read-only transaction, so that its reads see one
// state of the database; q runs the prepared statements in it.
func (s *SQLite) read(ctx context.Context, fn func(q querier) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("rolestore: read: %w", err)
	}
	defer tx.Rollback()
	return fn(s.inTx(tx))
}

func jsonList(v []string) string {
	b, _ := json.Marshal(nonNilStrings(v))
	return string(b)
}
