package rolestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/imdsemu/imdsemu/awsmanaged"
)

// EntityPolicy names managed policies in ValidationError.Entity.
const EntityPolicy = "policy"

// PolicyIDPrefix starts the unique IDs IAM gives managed policies.
const PolicyIDPrefix = "ANPA"

// IAM quotas for customer managed policies (IAM User Guide, "IAM and AWS
// STS quotas"; CreatePolicyVersion in the IAM API reference).
const (
	// MaxManagedPolicyLength is the size of one managed policy document,
	// counted without whitespace.
	MaxManagedPolicyLength = 6144
	// MaxPolicyVersions is how many versions a managed policy keeps.
	MaxPolicyVersions = 5
)

// ManagedPolicy is a managed policy: a customer managed policy of an
// account, kept in the store with its versions, or an AWS managed policy of
// the awsmanaged catalogue (AccountID "aws").
type ManagedPolicy struct {
	// AccountID is the owning account, or "aws" for an AWS managed policy.
	AccountID string
	// Name matches [\w+=,.@-]{1,128}, unique per account without regard to case.
	Name string
	// Path is "/" or "/a/b/"; empty means "/".
	Path string
	// ID is "ANPA" and 17 characters, assigned by the store.
	ID          string
	Description string
	// DefaultVersionID is the version in force, "v1", "v2"...
	DefaultVersionID string
	// Document is the default version's JSON document. CreatePolicy takes
	// the first version's document here.
	Document string
	// AttachmentCount and PermissionsBoundaryUsageCount count the users,
	// groups and roles the policy is attached to, and the users and roles
	// it bounds (in the store, all accounts together).
	AttachmentCount, PermissionsBoundaryUsageCount int
	CreatedAt, UpdatedAt                           time.Time
}

// ARN returns arn:aws:iam::ACCOUNT:policy/PATH/NAME.
func (p ManagedPolicy) ARN() string {
	return "arn:aws:iam::" + p.AccountID + ":policy" + pathOrRoot(p.Path) + p.Name
}

// AWSManaged reports whether p is an AWS managed policy.
func (p ManagedPolicy) AWSManaged() bool { return p.AccountID == "aws" }

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	PolicyARN string
	// VersionID is "v1", "v2"...: IAM numbers versions in order and never
	// reuses a number.
	VersionID string
	Document  string
	IsDefault bool
	CreatedAt time.Time
}

// Validate checks a customer managed policy about to be created: account,
// name, path, description, and the document's shape and size.
func (p ManagedPolicy) Validate() error {
	bad := func(field, value, reason string) error {
		return &ValidationError{Entity: EntityPolicy, Name: p.Name, Field: field, Value: value, Reason: reason}
	}
	if !accountIDRe.MatchString(p.AccountID) {
		return bad("AccountID", p.AccountID, "must be 12 digits")
	}
	if err := checkName(p.Name, 128); err != "" {
		return bad("Name", short(p.Name), err)
	}
	if err := checkPath(p.Path); err != "" {
		return bad("Path", short(p.Path), err)
	}
	if n := utf8.RuneCountInString(p.Description); n > MaxDescriptionLength {
		return bad("Description", "", fmt.Sprintf("must be at most %d characters, got %d", MaxDescriptionLength, n))
	}
	return checkManagedDocument(p.Document)
}

// checkManagedDocument checks a managed policy document's shape and size.
func checkManagedDocument(doc string) error {
	n, reason := checkDocument(doc)
	if reason != "" {
		return newError(CodeMalformedPolicyDocument, "The policy document %s.", reason)
	}
	if n > MaxManagedPolicyLength {
		return newError(CodeLimitExceeded, "Cannot exceed quota for PolicySize: %d", MaxManagedPolicyLength)
	}
	return nil
}

// ParsePolicyARN splits a managed policy ARN into account ("aws" for an
// AWS managed policy), path and name. It checks the shape only.
func ParsePolicyARN(arn string) (accountID, path, name string, err error) {
	return parseIAMARN(arn, "policy")
}

func parseVersionID(id string) (int, bool) {
	rest, ok := strings.CutPrefix(id, "v")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n > 0 && strconv.Itoa(n) == rest
}

func versionID(n int) string { return "v" + strconv.Itoa(n) }

func noSuchPolicy(arn string) error {
	return newError(CodeNoSuchEntity, "Policy %s does not exist or is not attachable.", arn)
}

// resolvePolicyARN returns the ARN of an existing managed policy as the
// store spells it: an AWS managed policy of the catalogue, or a customer
// managed policy of the store (name without regard to case, path exact).
// Anything else is NoSuchEntity.
func resolvePolicyARN(ctx context.Context, q querier, arn string) (string, error) {
	if awsmanaged.IsAWSManaged(arn) {
		if p, ok := awsmanaged.Lookup(arn); ok {
			return p.ARN(), nil
		}
		return "", noSuchPolicy(arn)
	}
	pk, err := customerPolicyPK(ctx, q, arn)
	if err != nil {
		return "", err
	}
	p, err := getPolicy(ctx, q, pk)
	if err != nil {
		return "", err
	}
	return p.ARN(), nil
}

// customerPolicyPK finds a customer managed policy's row by ARN.
func customerPolicyPK(ctx context.Context, q querier, arn string) (int64, error) {
	account, path, name, err := parseIAMARN(arn, "policy")
	if err != nil {
		return 0, noSuchPolicy(arn)
	}
	var (
		pk    int64
		spath string
	)
	err = q.QueryRowContext(ctx, customerPolicyByName, account, name).Scan(&pk, &spath)
	if errors.Is(err, sql.ErrNoRows) || err == nil && spath != path {
		return 0, noSuchPolicy(arn)
	}
	if err != nil {
		return 0, fmt.Errorf("rolestore: policy %s: %w", arn, err)
	}
	return pk, nil
}

func getPolicy(ctx context.Context, q querier, pk int64) (ManagedPolicy, error) {
	var (
		p                         ManagedPolicy
		def                       int
		created, updated          int64
		attachments, boundaryUses int
	)
	err := q.QueryRowContext(ctx, `SELECT mp.account_id, mp.name, mp.path, mp.policy_id, mp.description, mp.default_version,
	mp.created_at, mp.updated_at, v.document
FROM managed_policies mp JOIN policy_versions v ON v.policy_pk = mp.pk AND v.version = mp.default_version
WHERE mp.pk = ?`, pk).Scan(&p.AccountID, &p.Name, &p.Path, &p.ID, &p.Description, &def, &created, &updated, &p.Document)
	if err != nil {
		return ManagedPolicy{}, fmt.Errorf("rolestore: policy: %w", err)
	}
	p.DefaultVersionID = versionID(def)
	p.CreatedAt, p.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	if attachments, boundaryUses, err = policyUses(ctx, q, p.ARN()); err != nil {
		return ManagedPolicy{}, err
	}
	p.AttachmentCount, p.PermissionsBoundaryUsageCount = attachments, boundaryUses
	return p, nil
}

// policyUses counts the attachments of a policy and the users and roles it
// bounds.
func policyUses(ctx context.Context, q querier, arn string) (attachments, boundaries int, err error) {
	err = q.QueryRowContext(ctx, `SELECT
	(SELECT COUNT(*) FROM user_attached_policies WHERE policy_arn = ?1) +
	(SELECT COUNT(*) FROM group_attached_policies WHERE policy_arn = ?1) +
	(SELECT COUNT(*) FROM role_attached_policies WHERE policy_arn = ?1),
	(SELECT COUNT(*) FROM users WHERE permissions_boundary = ?1) +
	(SELECT COUNT(*) FROM roles WHERE permissions_boundary = ?1)`, arn).Scan(&attachments, &boundaries)
	if err != nil {
		return 0, 0, fmt.Errorf("rolestore: uses of policy %s: %w", arn, err)
	}
	return attachments, boundaries, nil
}

func fromCatalogue(ctx context.Context, q querier, a awsmanaged.Policy) (ManagedPolicy, error) {
	p := ManagedPolicy{AccountID: "aws", Name: a.Name, Path: a.Path, Description: a.Description,
		DefaultVersionID: a.VersionID, Document: a.Document, CreatedAt: a.Created, UpdatedAt: a.Updated}
	var err error
	p.AttachmentCount, p.PermissionsBoundaryUsageCount, err = policyUses(ctx, q, a.ARN())
	return p, err
}

// CreatePolicy creates a customer managed policy with p.Document as its
// version v1, the default. A policy of that name in the account (in any
// case) is EntityAlreadyExists; a bad document MalformedPolicyDocument.
func (s *SQLite) CreatePolicy(ctx context.Context, p ManagedPolicy) (ManagedPolicy, error) {
	if err := p.Validate(); err != nil {
		return ManagedPolicy{}, err
	}
	if err := s.checkPolicyDoc(p.Document); err != nil {
		return ManagedPolicy{}, err
	}
	var out ManagedPolicy
	err := s.write(ctx, "create policy", func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM managed_policies WHERE account_id = ? AND name = ?`, p.AccountID, p.Name).Scan(&one)
		if err == nil {
			return newError(CodeEntityAlreadyExists, "A policy called %s already exists. Duplicate names are not allowed.", p.Name)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("rolestore: create policy %s: %w", p.Name, err)
		}
		out, err = s.createPolicy(ctx, tx, p)
		return err
	})
	return out, err
}

// createPolicy inserts a new customer managed policy with its v1.
func (s *SQLite) createPolicy(ctx context.Context, tx *sql.Tx, p ManagedPolicy) (ManagedPolicy, error) {
	if err := accountExists(ctx, tx, EntityPolicy, p.Name, p.AccountID); err != nil {
		return ManagedPolicy{}, err
	}
	id, err := NewID(PolicyIDPrefix, s.rand)
	if err != nil {
		return ManagedPolicy{}, err
	}
	now := s.createdAt(p.CreatedAt)
	var pk int64
	err = tx.QueryRowContext(ctx, `INSERT INTO managed_policies
	(account_id, name, path, policy_id, description, default_version, next_version, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, 1, 2, ?, ?) RETURNING pk`, p.AccountID, p.Name, pathOrRoot(p.Path), id, p.Description, now, now).Scan(&pk)
	if err != nil {
		return ManagedPolicy{}, fmt.Errorf("rolestore: create policy %s: %w", p.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO policy_versions (policy_pk, version, document, created_at) VALUES (?, 1, ?, ?)`,
		pk, p.Document, now); err != nil {
		return ManagedPolicy{}, fmt.Errorf("rolestore: create policy %s: %w", p.Name, err)
	}
	return getPolicy(ctx, tx, pk)
}

// putPolicy is a config file's upsert of a customer managed policy: a new
// policy is created; an existing one whose default document differs gets
// the document as a new default version, the oldest other version making
// room when it has MaxPolicyVersions, and the description given.
func (s *SQLite) putPolicy(ctx context.Context, tx *sql.Tx, p ManagedPolicy) error {
	pk, err := customerPolicyPK(ctx, tx, p.ARN())
	if errors.Is(err, ErrNotFound) {
		var one int
		if tx.QueryRowContext(ctx, `SELECT 1 FROM managed_policies WHERE account_id = ? AND name = ?`, p.AccountID, p.Name).Scan(&one) == nil {
			return newError(CodeEntityAlreadyExists, "A policy called %s already exists (with another path). Duplicate names are not allowed.", p.Name)
		}
		_, err = s.createPolicy(ctx, tx, p)
		return err
	}
	if err != nil {
		return err
	}
	cur, err := getPolicy(ctx, tx, pk)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE managed_policies SET description = ? WHERE pk = ?`, p.Description, pk); err != nil {
		return fmt.Errorf("rolestore: put policy %s: %w", p.Name, err)
	}
	if cur.Document == p.Document {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM policy_versions WHERE policy_pk = ?1 AND version IN (
	SELECT v.version FROM policy_versions v JOIN managed_policies mp ON mp.pk = v.policy_pk
	WHERE v.policy_pk = ?1 AND v.version <> mp.default_version ORDER BY v.version
	LIMIT max(0, (SELECT COUNT(*) FROM policy_versions WHERE policy_pk = ?1) - ?2 + 1))`, pk, MaxPolicyVersions); err != nil {
		return fmt.Errorf("rolestore: put policy %s: %w", p.Name, err)
	}
	now := s.now().UnixNano()
	if _, err := tx.ExecContext(ctx, `INSERT INTO policy_versions (policy_pk, version, document, created_at)
	SELECT pk, next_version, ?, ? FROM managed_policies WHERE pk = ?`, p.Document, now, pk); err != nil {
		return fmt.Errorf("rolestore: put policy %s: %w", p.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE managed_policies SET default_version = next_version, next_version = next_version + 1,
	updated_at = ? WHERE pk = ?`, now, pk); err != nil {
		return fmt.Errorf("rolestore: put policy %s: %w", p.Name, err)
	}
	return nil
}

// Policy returns a managed policy by ARN: an AWS managed policy of the
// catalogue or a customer managed policy of the store, or NoSuchEntity.
func (s *SQLite) Policy(ctx context.Context, arn string) (ManagedPolicy, error) {
	if awsmanaged.IsAWSManaged(arn) {
		a, ok := awsmanaged.Lookup(arn)
		if !ok {
			return ManagedPolicy{}, noSuchPolicy(arn)
		}
		return fromCatalogue(ctx, s.db, a)
	}
	pk, err := customerPolicyPK(ctx, s.db, arn)
	if err != nil {
		return ManagedPolicy{}, err
	}
	return getPolicy(ctx, s.db, pk)
}

// Policies lists the customer managed policies of one account, or of all
// when accountID is "", sorted by account, path and name. The AWS managed
// ones are AWSPolicies.
func (s *SQLite) Policies(ctx context.Context, accountID string) ([]ManagedPolicy, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT pk FROM managed_policies WHERE ? = '' OR account_id = ?
ORDER BY account_id, path, name`, accountID, accountID)
	if err != nil {
		return nil, fmt.Errorf("rolestore: list policies: %w", err)
	}
	var pks []int64
	for rows.Next() {
		var pk int64
		if err := rows.Scan(&pk); err != nil {
			rows.Close()
			return nil, fmt.Errorf("rolestore: list policies: %w", err)
		}
		pks = append(pks, pk)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rolestore: list policies: %w", err)
	}
	out := make([]ManagedPolicy, 0, len(pks))
	for _, pk := range pks {
		p, err := getPolicy(ctx, s.db, pk)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// AWSPolicies lists the AWS managed policies of the catalogue with their
// attachment counts.
func (s *SQLite) AWSPolicies(ctx context.Context) ([]ManagedPolicy, error) {
	all := awsmanaged.All()
	out := make([]ManagedPolicy, 0, len(all))
	for _, a := range all {
		p, err := fromCatalogue(ctx, s.db, a)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// notCustomer refuses to change an AWS managed policy.
func notCustomer(arn string) error {
	return newError(CodeInvalidInput, "Policy %s is an AWS managed policy; only customer managed policies can be changed.", arn)
}

// DeletePolicy deletes a customer managed policy. As in IAM it must be
// attached to nothing, bound nobody, and have no version but its default
// (DeleteConflict otherwise).
func (s *SQLite) DeletePolicy(ctx context.Context, arn string) error {
	if awsmanaged.IsAWSManaged(arn) {
		return notCustomer(arn)
	}
	return s.write(ctx, "delete policy", func(tx *sql.Tx) error {
		pk, err := customerPolicyPK(ctx, tx, arn)
		if err != nil {
			return err
		}
		p, err := getPolicy(ctx, tx, pk)
		if err != nil {
			return err
		}
		if p.AttachmentCount > 0 || p.PermissionsBoundaryUsageCount > 0 {
			return newError(CodeDeleteConflict, "Cannot delete a policy attached to entities.")
		}
		var versions int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM policy_versions WHERE policy_pk = ?`, pk).Scan(&versions); err != nil {
			return fmt.Errorf("rolestore: delete policy %s: %w", arn, err)
		}
		if versions > 1 {
			return newError(CodeDeleteConflict, "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM managed_policies WHERE pk = ?`, pk); err != nil {
			return fmt.Errorf("rolestore: delete policy %s: %w", arn, err)
		}
		return nil
	})
}

// CreatePolicyVersion adds a version to a customer managed policy, the new
// default when setAsDefault. A policy with MaxPolicyVersions versions
// already is LimitExceeded, as in IAM.
func (s *SQLite) CreatePolicyVersion(ctx context.Context, arn, doc string, setAsDefault bool) (PolicyVersion, error) {
	if awsmanaged.IsAWSManaged(arn) {
		return PolicyVersion{}, notCustomer(arn)
	}
	if err := checkManagedDocument(doc); err != nil {
		return PolicyVersion{}, err
	}
	if err := s.checkPolicyDoc(doc); err != nil {
		return PolicyVersion{}, err
	}
	var out PolicyVersion
	err := s.write(ctx, "create policy version", func(tx *sql.Tx) error {
		pk, err := customerPolicyPK(ctx, tx, arn)
		if err != nil {
			return err
		}
		var versions, next int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM policy_versions WHERE policy_pk = ?1), next_version
FROM managed_policies WHERE pk = ?1`, pk).Scan(&versions, &next); err != nil {
			return fmt.Errorf("rolestore: create policy version: %w", err)
		}
		if versions >= MaxPolicyVersions {
			return newError(CodeLimitExceeded, "A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", MaxPolicyVersions)
		}
		now := s.now().UnixNano()
		if _, err := tx.ExecContext(ctx, `INSERT INTO policy_versions (policy_pk, version, document, created_at) VALUES (?, ?, ?, ?)`,
			pk, next, doc, now); err != nil {
			return fmt.Errorf("rolestore: create policy version: %w", err)
		}
		set := `next_version = next_version + 1, updated_at = ?`
		if setAsDefault {
			set += `, default_version = next_version`
		}
		if _, err := tx.ExecContext(ctx, `UPDATE managed_policies SET `+set+` WHERE pk = ?`, now, pk); err != nil {
			return fmt.Errorf("rolestore: create policy version: %w", err)
		}
		out, err = policyVersion(ctx, tx, pk, next)
		return err
	})
	return out, err
}

func policyVersion(ctx context.Context, q querier, pk int64, n int) (PolicyVersion, error) {
	vs, err := policyVersions(ctx, q, pk, n)
	if err != nil {
		return PolicyVersion{}, err
	}
	if len(vs) == 0 {
		return PolicyVersion{}, sql.ErrNoRows
	}
	return vs[0], nil
}

// policyVersions lists a policy's versions (only version n when n > 0).
func policyVersions(ctx context.Context, q querier, pk int64, n int) ([]PolicyVersion, error) {
	rows, err := q.QueryContext(ctx, `SELECT v.version, v.document, v.created_at, v.version = mp.default_version
FROM policy_versions v JOIN managed_policies mp ON mp.pk = v.policy_pk
WHERE v.policy_pk = ? AND (? = 0 OR v.version = ?) ORDER BY v.version`, pk, n, n)
	if err != nil {
		return nil, fmt.Errorf("rolestore: policy versions: %w", err)
	}
	defer rows.Close()
	var out []PolicyVersion
	for rows.Next() {
		var (
			v       PolicyVersion
			num     int
			created int64
		)
		if err := rows.Scan(&num, &v.Document, &created, &v.IsDefault); err != nil {
			return nil, fmt.Errorf("rolestore: policy versions: %w", err)
		}
		v.VersionID, v.CreatedAt = versionID(num), time.Unix(0, created).UTC()
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rolestore: policy versions: %w", err)
	}
	if len(out) > 0 {
		p, err := getPolicy(ctx, q, pk)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i].PolicyARN = p.ARN()
		}
	}
	return out, nil
}

func noSuchVersion(arn, id string) error {
	return newError(CodeNoSuchEntity, "Policy %s version %s does not exist.", arn, id)
}

// PolicyVersion returns one version of a managed policy. An AWS managed
// policy has only its default version in the catalogue.
func (s *SQLite) PolicyVersion(ctx context.Context, arn, id string) (PolicyVersion, error) {
	if awsmanaged.IsAWSManaged(arn) {
		a, ok := awsmanaged.Lookup(arn)
		if !ok {
			return PolicyVersion{}, noSuchPolicy(arn)
		}
		if id != a.VersionID {
			return PolicyVersion{}, noSuchVersion(arn, id)
		}
		return PolicyVersion{PolicyARN: a.ARN(), VersionID: a.VersionID, Document: a.Document, IsDefault: true, CreatedAt: a.Updated}, nil
	}
	pk, err := customerPolicyPK(ctx, s.db, arn)
	if err != nil {
		return PolicyVersion{}, err
	}
	n, ok := parseVersionID(id)
	if !ok {
		return PolicyVersion{}, noSuchVersion(arn, id)
	}
	v, err := policyVersion(ctx, s.db, pk, n)
	if errors.Is(err, sql.ErrNoRows) {
		return PolicyVersion{}, noSuchVersion(arn, id)
	}
	return v, err
}

// PolicyVersions lists the versions of a managed policy, oldest first.
func (s *SQLite) PolicyVersions(ctx context.Context, arn string) ([]PolicyVersion, error) {
	if awsmanaged.IsAWSManaged(arn) {
		a, ok := awsmanaged.Lookup(arn)
		if !ok {
			return nil, noSuchPolicy(arn)
		}
		return []PolicyVersion{{PolicyARN: a.ARN(), VersionID: a.VersionID, Document: a.Document, IsDefault: true, CreatedAt: a.Updated}}, nil
	}
	pk, err := customerPolicyPK(ctx, s.db, arn)
	if err != nil {
		return nil, err
	}
	return policyVersions(ctx, s.db, pk, 0)
}

// DeletePolicyVersion deletes a version of a customer managed policy; the
// default version cannot be deleted (DeleteConflict).
func (s *SQLite) DeletePolicyVersion(ctx context.Context, arn, id string) error {
	if awsmanaged.IsAWSManaged(arn) {
		return notCustomer(arn)
	}
	return s.write(ctx, "delete policy version", func(tx *sql.Tx) error {
		pk, v, err := lookupVersion(ctx, tx, arn, id)
		if err != nil {
			return err
		}
		if v.IsDefault {
			return newError(CodeDeleteConflict, "Cannot delete the default version of a policy.")
		}
		n, _ := parseVersionID(id)
		if _, err := tx.ExecContext(ctx, `DELETE FROM policy_versions WHERE policy_pk = ? AND version = ?`, pk, n); err != nil {
			return fmt.Errorf("rolestore: delete policy version: %w", err)
		}
		return nil
	})
}

// SetDefaultPolicyVersion makes a version the one in force.
func (s *SQLite) SetDefaultPolicyVersion(ctx context.Context, arn, id string) error {
	if awsmanaged.IsAWSManaged(arn) {
		return notCustomer(arn)
	}
	return s.write(ctx, "set default policy version", func(tx *sql.Tx) error {
		pk, _, err := lookupVersion(ctx, tx, arn, id)
		if err != nil {
			return err
		}
		n, _ := parseVersionID(id)
		if _, err := tx.ExecContext(ctx, `UPDATE managed_policies SET default_version = ?, updated_at = ? WHERE pk = ?`,
			n, s.now().UnixNano(), pk); err != nil {
			return fmt.Errorf("rolestore: set default policy version: %w", err)
		}
		return nil
	})
}

func lookupVersion(ctx context.Context, q querier, arn, id string) (int64, PolicyVersion, error) {
	pk, err := customerPolicyPK(ctx, q, arn)
	if err != nil {
		return 0, PolicyVersion{}, err
	}
	n, ok := parseVersionID(id)
	if !ok {
		return 0, PolicyVersion{}, noSuchVersion(arn, id)
	}
	v, err := policyVersion(ctx, q, pk, n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, PolicyVersion{}, noSuchVersion(arn, id)
	}
	return pk, v, err
}

// PolicyDocument returns the document of a managed policy's default
// version, AWS or customer managed; an unknown ARN is NoSuchEntity.
func (s *SQLite) PolicyDocument(ctx context.Context, arn string) (string, error) {
	return policyDocument(ctx, s.db, arn)
}

func policyDocument(ctx context.Context, q querier, arn string) (string, error) {
	if awsmanaged.IsAWSManaged(arn) {
		a, ok := awsmanaged.Lookup(arn)
		if !ok {
			return "", noSuchPolicy(arn)
		}
		return a.Document, nil
	}
	pk, err := customerPolicyPK(ctx, q, arn)
	if err != nil {
		return "", err
	}
	var doc string
	err = q.QueryRowContext(ctx, defaultDocument, pk).Scan(&doc)
	if err != nil {
		return "", fmt.Errorf("rolestore: policy %s: %w", arn, err)
	}
	return doc, nil
}
