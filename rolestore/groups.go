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

// EntityGroup names groups in ValidationError.Entity.
const EntityGroup = "group"

// GroupIDPrefix starts the unique IDs IAM gives groups.
const GroupIDPrefix = "AGPA"

// IAM quotas for groups (IAM User Guide, "IAM and AWS STS quotas").
const (
	// MaxGroupPoliciesLength is the aggregate size of a group's inline
	// policies, counted without whitespace.
	MaxGroupPoliciesLength = 5120
)

// Immutable after package initialisation and safe for concurrent use.
var groupIDRe = pattern.Lazy(`^AGPA[A-Z0-9]{17}$`)

// Group is an IAM group: a set of users that receive the group's inline
// policies and its attached managed policies.
type Group struct {
	AccountID string
	// Name matches [\w+=,.@-]{1,128}, unique per account without regard to case.
	Name string
	// Path is "/" or "/a/b/"; empty means "/".
	Path string
	// ID is "AGPA" and 17 characters, assigned by the store when empty.
	ID string
	// Policies are the group's inline policies, name -> JSON document.
	Policies map[string]string
	// ManagedPolicies are the ARNs of the managed policies attached to the
	// group, customer or AWS managed, sorted; at most MaxManagedPolicies.
	ManagedPolicies []string
	CreatedAt       time.Time
}

// ARN returns the group's ARN, arn:aws:iam::ACCOUNT:group/PATH/NAME.
func (g Group) ARN() string {
	return "arn:aws:iam::" + g.AccountID + ":group" + pathOrRoot(g.Path) + g.Name
}

// Validate checks the group against IAM's rules and returns a
// *ValidationError for the first problem. Whether its managed policies
// exist is checked by the store.
func (g Group) Validate() error {
	bad := func(field, key, value, reason string) error {
		return &ValidationError{Entity: EntityGroup, Name: g.Name, Field: field, Key: key, Value: value, Reason: reason}
	}
	if err := checkIdentity(bad, g.AccountID, g.Name, 128, g.Path, g.ID, groupIDRe, "AGPA"); err != nil {
		return err
	}
	if key, reason := checkPolicies(g.Policies, MaxGroupPoliciesLength); reason != "" {
		return bad("Policies", key, "", reason)
	}
	if arn, reason := checkPolicyARNs(g.ManagedPolicies); reason != "" {
		return bad("ManagedPolicies", arn, short(arn), reason)
	}
	return nil
}

// checkPolicies checks inline policy names and documents and their
// aggregate size; it returns the offending policy name and a reason.
func checkPolicies(policies map[string]string, maxTotal int) (string, string) {
	total := 0
	for _, name := range sortedKeys(policies) {
		if err := checkName(name, 128); err != "" {
			return name, "name " + err
		}
		n, reason := checkDocument(policies[name])
		if reason != "" {
			return name, fmt.Sprintf("document %q %s", name, reason)
		}
		total += n
	}
	if total > maxTotal {
		return "", fmt.Sprintf("must total at most %d characters without whitespace, got %d", maxTotal, total)
	}
	return "", ""
}

// checkPolicyARNs checks a list of attached managed policy ARNs: at most
// MaxManagedPolicies, each shaped like a policy ARN, none twice.
func checkPolicyARNs(arns []string) (string, string) {
	if len(arns) > MaxManagedPolicies {
		return "", fmt.Sprintf("must be at most %d (an IAM quota), got %d", MaxManagedPolicies, len(arns))
	}
	seen := map[string]bool{}
	for _, a := range arns {
		if !isPolicyARN(a) {
			return a, "is not a managed policy ARN (arn:aws:iam::ACCOUNT:policy/PATH/NAME)"
		}
		if seen[a] {
			return a, "is listed more than once"
		}
		seen[a] = true
	}
	return "", ""
}

// CreateGroup creates a group; it fails with EntityAlreadyExists when the
// account has a group of that name (in any case).
func (s *SQLite) CreateGroup(ctx context.Context, g Group) (Group, error) {
	if err := g.Validate(); err != nil {
		return Group{}, err
	}
	var out Group
	err := s.write(ctx, "create group", func(tx *sql.Tx) error {
		if _, err := entityPK(ctx, tx, groupEntity(), g.AccountID, g.Name); err == nil {
			return newError(CodeEntityAlreadyExists, "Group with name %s already exists.", g.Name)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		var err error
		out, err = s.putGroup(ctx, tx, g)
		return err
	})
	return out, err
}

// PutGroup creates or updates the group (AccountID, Name) with its inline
// policies and attached managed policies (replacing those it had), and
// returns it as stored.
func (s *SQLite) PutGroup(ctx context.Context, g Group) (Group, error) {
	if err := g.Validate(); err != nil {
		return Group{}, err
	}
	var out Group
	err := s.write(ctx, "put group", func(tx *sql.Tx) error {
		var err error
		out, err = s.putGroup(ctx, tx, g)
		return err
	})
	return out, err
}

func (s *SQLite) putGroup(ctx context.Context, tx *sql.Tx, g Group) (Group, error) {
	if err := accountExists(ctx, tx, EntityGroup, g.Name, g.AccountID); err != nil {
		return Group{}, err
	}
	pk, id, createdAt, err := s.identity(ctx, tx, "groups", "group_id", GroupIDPrefix, g.AccountID, g.Name, g.ID, g.CreatedAt)
	if err != nil {
		return Group{}, err
	}
	if err := s.checkPolicyDocs(g.Policies); err != nil {
		return Group{}, err
	}
	policies, err := json.Marshal(nonNilMap(g.Policies))
	if err != nil {
		return Group{}, fmt.Errorf("rolestore: put group %s: %w", g.Name, err)
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO groups (account_id, name, path, group_id, policies, created_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (account_id, name) DO UPDATE SET
	name = excluded.name, path = excluded.path, group_id = excluded.group_id, policies = excluded.policies
RETURNING pk`, g.AccountID, g.Name, pathOrRoot(g.Path), id, string(policies), createdAt).Scan(&pk)
	if err != nil {
		return Group{}, fmt.Errorf("rolestore: put group %s: %w", g.Name, err)
	}
	if err := setAttached(ctx, tx, groupEntity(), pk, g.ManagedPolicies); err != nil {
		return Group{}, err
	}
	return getGroup(ctx, tx, selectGroups+`g.pk = ?`+groupsOrder, pk)
}

// groupColumns include the attached policies' ARNs, sorted, as a JSON
// array, so that a group is one query.
const groupColumns = `g.pk, g.account_id, g.name, g.path, g.group_id, g.policies, g.created_at,
	(SELECT json_group_array(a.policy_arn ORDER BY a.policy_arn) FROM group_attached_policies a WHERE a.group_pk = g.pk)`

func scanGroup(row scanner) (int64, Group, error) {
	var (
		g          Group
		pk, create int64
		policies   string
		attached   string
	)
	err := row.Scan(&pk, &g.AccountID, &g.Name, &g.Path, &g.ID, &policies, &create, &attached)
	if err != nil {
		return 0, Group{}, err
	}
	if g.ManagedPolicies, err = decodeList(attached); err != nil {
		return 0, Group{}, fmt.Errorf("rolestore: group %s: decode attached policies: %w", g.Name, err)
	}
	if err := json.Unmarshal([]byte(policies), &g.Policies); err != nil {
		return 0, Group{}, fmt.Errorf("rolestore: group %s: decode policies: %w", g.Name, err)
	}
	if len(g.Policies) == 0 {
		g.Policies = nil
	}
	g.CreatedAt = time.Unix(0, create).UTC()
	return pk, g, nil
}

// getGroup reads one group with query as listGroups does.
func getGroup(ctx context.Context, q querier, query string, args ...any) (Group, error) {
	out, err := listGroups(ctx, q, query, args...)
	if err != nil {
		return Group{}, err
	}
	if len(out) == 0 {
		return Group{}, sql.ErrNoRows
	}
	return out[0], nil
}

const (
	selectGroups = `SELECT ` + groupColumns + ` FROM groups g WHERE `
	groupsOrder  = ` ORDER BY g.account_id, g.name`
	groupByName  = selectGroups + `g.account_id = ? AND g.name = ?` + groupsOrder
)

// listGroups reads groups with query: selectGroups, a condition and
// groupsOrder.
func listGroups(ctx context.Context, q querier, query string, args ...any) ([]Group, error) {
	return scanRows(ctx, q, "groups", scanGroup, query, args...)
}

// scanRows runs a query and scans every row with scan, returning the
// entities. The rows are closed before it
// returns, so that the caller may query again on the same connection.
func scanRows[T any](ctx context.Context, q querier, what string, scan func(scanner) (int64, T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("rolestore: list %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		_, v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("rolestore: list %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rolestore: list %s: %w", what, err)
	}
	return out, rows.Close()
}

func noSuchGroup(name string) error {
	return newError(CodeNoSuchEntity, "The group with name %s cannot be found.", name)
}

// Group returns a group by account and name (case-insensitive), with its
// attached managed policies.
func (s *SQLite) Group(ctx context.Context, accountID, name string) (Group, error) {
	g, err := getGroup(ctx, s.db, groupByName, accountID, name)
	if errors.Is(err, sql.ErrNoRows) {
		return Group{}, noSuchGroup(name)
	}
	return g, err
}

// Groups lists the groups of one account, or of all when accountID is "",
// sorted by account and name.
func (s *SQLite) Groups(ctx context.Context, accountID string) ([]Group, error) {
	return listGroups(ctx, s.db, selectGroups+`? = '' OR g.account_id = ?`+groupsOrder, accountID, accountID)
}

// GroupsForUser lists the groups a user is in, sorted by name.
func (s *SQLite) GroupsForUser(ctx context.Context, accountID, userName string) ([]Group, error) {
	pk, err := entityPK(ctx, s.db, userEntity(), accountID, userName)
	if err != nil {
		return nil, err
	}
	return listGroups(ctx, s.db, selectGroups+`g.pk IN (SELECT group_pk FROM group_members WHERE user_pk = ?)`+groupsOrder, pk)
}

// GroupUsers lists the members of a group, sorted by name.
func (s *SQLite) GroupUsers(ctx context.Context, accountID, groupName string) ([]User, error) {
	pk, err := entityPK(ctx, s.db, groupEntity(), accountID, groupName)
	if err != nil {
		return nil, err
	}
	return s.listUsers(ctx, s.db, `u.pk IN (SELECT user_pk FROM group_members WHERE group_pk = ?)`, pk)
}

// UpdateGroup renames a group or moves it to another path (IAM
// UpdateGroup); an empty newName or newPath keeps the old one. A new name
// another group has fails with EntityAlreadyExists.
func (s *SQLite) UpdateGroup(ctx context.Context, accountID, name, newName, newPath string) (Group, error) {
	var out Group
	err := s.write(ctx, "update group", func(tx *sql.Tx) error {
		g, err := getGroup(ctx, tx, groupByName, accountID, name)
		if errors.Is(err, sql.ErrNoRows) {
			return noSuchGroup(name)
		}
		if err != nil {
			return err
		}
		if newName != "" && !strings.EqualFold(newName, g.Name) {
			if _, err := entityPK(ctx, tx, groupEntity(), accountID, newName); err == nil {
				return newError(CodeEntityAlreadyExists, "Group with name %s already exists.", newName)
			}
		}
		if newName != "" {
			g.Name = newName
		}
		if newPath != "" {
			g.Path = newPath
		}
		if err := g.Validate(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE groups SET name = ?, path = ? WHERE group_id = ?`, g.Name, g.Path, g.ID); err != nil {
			return fmt.Errorf("rolestore: update group %s: %w", name, err)
		}
		out = g
		return nil
	})
	return out, err
}

// DeleteGroup deletes a group. As in IAM, the group must have no members,
// no inline policies and no attached managed policies (DeleteConflict).
func (s *SQLite) DeleteGroup(ctx context.Context, accountID, name string) error {
	return s.write(ctx, "delete group", func(tx *sql.Tx) error {
		g, err := getGroup(ctx, tx, groupByName, accountID, name)
		if errors.Is(err, sql.ErrNoRows) {
			return noSuchGroup(name)
		}
		if err != nil {
			return err
		}
		var members int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM group_members m JOIN groups g ON g.pk = m.group_pk
WHERE g.group_id = ?`, g.ID).Scan(&members); err != nil {
			return fmt.Errorf("rolestore: delete group %s: %w", name, err)
		}
		switch {
		case members > 0:
			return newError(CodeDeleteConflict, "Cannot delete entity, must remove users from group first.")
		case len(g.Policies) > 0:
			return newError(CodeDeleteConflict, "Cannot delete entity, must delete policies first.")
		case len(g.ManagedPolicies) > 0:
			return newError(CodeDeleteConflict, "Cannot delete entity, must detach all policies first.")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM groups WHERE group_id = ?`, g.ID); err != nil {
			return fmt.Errorf("rolestore: delete group %s: %w", name, err)
		}
		return nil
	})
}

// AddUserToGroup makes a user a member of a group. Adding a member again
// is not an error. A user already in MaxGroupsPerUser groups fails with
// LimitExceeded, as in IAM ("Cannot exceed quota for GroupsPerUser: 10").
func (s *SQLite) AddUserToGroup(ctx context.Context, accountID, groupName, userName string) error {
	return s.write(ctx, "add user to group", func(tx *sql.Tx) error {
		gpk, upk, err := memberPKs(ctx, tx, accountID, groupName, userName)
		if err != nil {
			return err
		}
		return addMember(ctx, tx, gpk, upk)
	})
}

// memberPKs returns the rows of a group and a user, or NoSuchEntity.
func memberPKs(ctx context.Context, q querier, accountID, groupName, userName string) (gpk, upk int64, err error) {
	if gpk, err = entityPK(ctx, q, groupEntity(), accountID, groupName); err != nil {
		return 0, 0, err
	}
	upk, err = entityPK(ctx, q, userEntity(), accountID, userName)
	return gpk, upk, err
}

func addMember(ctx context.Context, tx *sql.Tx, gpk, upk int64) error {
	var member, count int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FILTER (WHERE group_pk = ?), COUNT(*) FROM group_members WHERE user_pk = ?`,
		gpk, upk).Scan(&member, &count); err != nil {
		return fmt.Errorf("rolestore: add user to group: %w", err)
	}
	if member > 0 {
		return nil
	}
	if count >= MaxGroupsPerUser {
		return newError(CodeLimitExceeded, "Cannot exceed quota for GroupsPerUser: %d", MaxGroupsPerUser)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_pk, user_pk) VALUES (?, ?)`, gpk, upk); err != nil {
		return fmt.Errorf("rolestore: add user to group: %w", err)
	}
	return nil
}

// RemoveUserFromGroup ends a membership; a user not in the group fails with
// NoSuchEntity.
func (s *SQLite) RemoveUserFromGroup(ctx context.Context, accountID, groupName, userName string) error {
	return s.write(ctx, "remove user from group", func(tx *sql.Tx) error {
		gpk, upk, err := memberPKs(ctx, tx, accountID, groupName, userName)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_pk = ? AND user_pk = ?`, gpk, upk)
		if err != nil {
			return fmt.Errorf("rolestore: remove user from group: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return newError(CodeNoSuchEntity, "The user with name %s is not in group %s.", userName, groupName)
		}
		return nil
	})
}

// setMembership makes the user a member of exactly the named groups,
// creating the groups that do not exist (path "/", no policies), as a
// config file's users list their groups.
func (s *SQLite) setMembership(ctx context.Context, tx *sql.Tx, u User, upk int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE user_pk = ?`, upk); err != nil {
		return fmt.Errorf("rolestore: put user %s: %w", u.Name, err)
	}
	for _, name := range u.Groups {
		gpk, err := entityPK(ctx, tx, groupEntity(), u.AccountID, name)
		if errors.Is(err, ErrNotFound) {
			g, err := s.putGroup(ctx, tx, Group{AccountID: u.AccountID, Name: name})
			if err != nil {
				return err
			}
			gpk, err = entityPK(ctx, tx, groupEntity(), g.AccountID, g.Name)
			if err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if err := addMember(ctx, tx, gpk, upk); err != nil {
			return err
		}
	}
	return nil
}
