// Package rolestore keeps imdsemu's IAM world: accounts, roles and instance
// profiles; IAM users with their long-term access keys and virtual MFA
// devices; groups; customer managed policies with their versions, and the
// attachments of managed policies (customer or AWS managed) to users,
// groups and roles; permissions boundaries; OIDC and SAML identity
// providers; and role session revocations. It holds the model and its
// validation (model.go, users.go, keys.go, providers.go, groups.go,
// managed.go), the Store interface that implementations fulfil
// (consumers declare the few methods they use instead), and SQLite, the
// embedded Store on a single SQLite file (modernc.org/sqlite, pure Go, WAL
// mode).
//
// # Users, keys and revocations
//
// Users follow IAM's rules (names [\w+=,.@-]{1,64}, AIDA... IDs, inline
// policies up to 2,048 characters in all, in at most 10 groups). Access keys (AKIA..., 40-character secrets) belong to a
// user or, with an empty UserName, to the account root user; at most two per
// owner, as in IAM. Secrets are stored as given: the database lives in the
// data directory, readable only by its owner (OpenSQLite creates it 0600 and
// refuses a database, -wal or -shm file, or a directory, that group or
// others can reach, naming the chmod to run), and AccessKey and MFADevice
// keep secrets out of logs (LogValue) and errors. A revocation is one row per
// role ARN: sessions of the role issued before it are denied.
//
// # Groups, managed policies and IAM errors
//
// The IAM methods follow IAM's rules and quotas (IAM API reference, IAM
// User Guide "IAM and AWS STS quotas") and fail with an *Error that carries
// the IAM error code and AWS's message; Code maps any error of the store to
// its IAM code ("" for a failure of the store itself), so the IAM Query API
// answers with it directly:
//
//   - NoSuchEntity (errors.Is ErrNotFound): a missing user, group, role,
//     policy, version, inline policy or attachment; an unknown managed
//     policy ARN, AWS managed ones included ("Policy ARN does not exist or
//     is not attachable.").
//   - EntityAlreadyExists (ErrAlreadyExists): CreateGroup, CreatePolicy,
//     UpdateGroup to a name in use (names compare without regard to case).
//   - LimitExceeded (ErrLimitExceeded): an 11th group of a user
//     (GroupsPerUser), an 11th managed policy of a user, group or role
//     (PoliciesPerUser/Group/Role), a 6th policy version, inline policies
//     over their aggregate size, a managed policy over 6,144 characters.
//   - DeleteConflict (ErrConflict): deleting the default policy version, a
//     policy still attached or used as a boundary, a policy with versions
//     besides its default, a group with members or policies, a role with
//     attached policies.
//   - MalformedPolicyDocument (ErrMalformedPolicy): a document that is not
//     a JSON object with a Statement, or that Options.CheckPolicy rejects.
//   - InvalidInput (ErrInvalidInput): changing an AWS managed policy.
//   - ValidationError: a *ValidationError (bad name, path, ...).
//
// AWS managed policies are not stored: they come from the awsmanaged
// catalogue shipped in the binary (AccountID "aws"); attachments hold
// policy ARNs. Version IDs count up (v1, v2, ...) and are never reused.
// PutUser, PutGroup and PutRole replace the memberships (a user's Groups;
// missing groups are created, as config files name them), attachments and
// boundary of the entity with those given; the dedicated methods change
// one thing at a time. Every method runs in one transaction.
//
// The exported methods of *SQLite beyond accounts, roles, profiles, users,
// keys, MFA devices, providers and revocations:
//
//	groups       CreateGroup, PutGroup, Group, Groups, GroupsForUser, GroupUsers,
//	             UpdateGroup, DeleteGroup, AddUserToGroup, RemoveUserFromGroup
//	inline       PutUserPolicy, DeleteUserPolicy, PutGroupPolicy,
//	             DeleteGroupPolicy, PutRolePolicy, DeleteRolePolicy
//	managed      CreatePolicy, Policy, Policies, AWSPolicies, DeletePolicy,
//	             PolicyDocument, PolicyEntities
//	versions     CreatePolicyVersion, PolicyVersion, PolicyVersions,
//	             DeletePolicyVersion, SetDefaultPolicyVersion
//	attachments  AttachUserPolicy, DetachUserPolicy, AttachGroupPolicy,
//	             DetachGroupPolicy, AttachRolePolicy, DetachRolePolicy
//	boundaries   SetUserPermissionsBoundary, SetRolePermissionsBoundary
//	effective    UserPermissions (user's inline + attached, each group's
//	             inline + attached, boundary), RolePermissions
//
// # Model and validation
//
// Role, InstanceProfile and Account follow IAM's rules (botocore IAM model,
// IAM quotas): role names [\w+=,.@-]{1,64}, profile names up to 128, paths
// "/" or "/a/b/", MaxSessionDuration 1h..12h in whole seconds (zero means
// 1h), at most 50 tags, at most one role per instance profile. Validate
// returns a *ValidationError for the first problem; its message never carries
// a policy document. Policy documents are checked only for being JSON objects
// with a Statement and for IAM's size quotas, counted without whitespace as
// IAM does; the policy package parses and evaluates them.
//
// Names are unique per account without regard to case, as in IAM, and
// lookups by name ignore case. A role's ID (AROA...) and a profile's ID
// (AIPA...) are assigned by the store on first write and kept across upserts
// and restarts, so sessions and revocations keyed by ID survive a config
// reload.
//
// # Seeds
//
// A Seed is what a config file declares. Seed.Validate checks every entity,
// duplicates and cross references (a role's account, a profile's role) within
// the seed. Store.Apply also accepts references to entities already stored,
// and writes the whole seed in one transaction or not at all. Apply upserts:
// entities missing from the seed are not deleted.
//
// # Concurrency
//
// SQLite is safe for concurrent use and starts no goroutines. Reads run in
// parallel; writes are serialised by a mutex and run as BEGIN IMMEDIATE
// transactions, so several processes may share one file (busy timeout 5s).
package rolestore
