// Package rolestore keeps imdsemu's IAM world: accounts, roles and instance
// profiles; IAM users with their long-term access keys and virtual MFA
// devices; OIDC and SAML identity providers; and role session revocations.
// It holds the model and its validation (model.go, users.go, keys.go,
// providers.go; no SQL), the Store interface that implementations fulfil
// (consumers declare the few methods they use instead), and SQLite, the
// embedded Store on a single SQLite file (modernc.org/sqlite, pure Go, WAL
// mode).
//
// # Users, keys and revocations
//
// Users follow IAM's rules (names [\w+=,.@-]{1,64}, AIDA... IDs, inline
// policies up to 2,048 characters in all, at most 10 group names, which carry
// no policies here). Access keys (AKIA..., 40-character secrets) belong to a
// user or, with an empty UserName, to the account root user; at most two per
// owner, as in IAM. Secrets are stored as given: the database lives in the
// data directory, readable only by its owner (OpenSQLite creates it 0600 and
// refuses a database, -wal or -shm file, or a directory, that group or
// others can reach, naming the chmod to run), and AccessKey and MFADevice
// keep secrets out of logs (LogValue) and errors. A revocation is one row per
// role ARN: sessions of the role issued before it are denied.
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
