// Package config reads the YAML config file of `imdsemu serve` and the
// IMDSEMU_* environment variables into Settings and a rolestore.Seed.
//
// # Precedence
//
// Default supplies every setting; a config file (Load, Parse) overrides what
// it sets; ApplyEnv overrides with the environment; flags (BindFlags,
// Flags.Apply) win over both. Flags.Resolve does all of it for
// `imdsemu serve`, fills in the CLI's defaults and the data directory
// (DataDir), and validates the result (Settings.Validate).
//
// Each field of Settings names its YAML key, environment variable, flag,
// help, CLI default and checks in struct tags, so that a new setting is one
// field. The entities are decoded the same way into tagged structs whose
// fields are named as the rolestore types' they are copied into.
//
// # The file
//
// docs/imdsemu.example.yaml shows every key; docs/configuration.md explains
// them.
//
// Durations are Go durations ("90m", "1h30m") or whole seconds (3600). A key
// set to null (~) is the same as a key left out. Policy documents written as YAML mappings are converted to JSON keeping key
// order; unquoted dates such as 2012-10-17 stay strings. YAML anchors,
// aliases and merge keys (<<) work as usual; top-level keys starting with
// "x-" are ignored, so they can hold anchors shared by several entities.
//
// # Entities and defaults
//
// If the file declares any accounts, roles or instance profiles, the seed is
// exactly what it declares; Default's entities are not added. If it declares
// none, the seed is Default's (account 123456789012, role and instance
// profile imdsemu-demo). Either way, settings the file leaves out keep
// Default's values.
//
// Within declared entities:
//   - a role or profile without "account" belongs to the only declared
//     account; when no accounts are listed, to instance.account (or
//     123456789012), and the accounts referenced are declared implicitly;
//   - a role without "trust-policy" trusts ec2.amazonaws.com (EC2TrustPolicy);
//   - instance.account defaults to the only account, instance.profile to the
//     only instance profile in that account (none if there is none). Set
//     profile: "" for an instance without a profile.
//
// instances: replaces instance: with several instances (Settings.ServedInstances),
// each an instance: section plus match: (sources, listen). Each resolves its
// account as instance: does (the only account, else its profile's); its
// profile is none unless it names one, and no two share an instance profile.
//
// Apply the seed with rolestore.Store.Apply; it upserts and deletes nothing.
//
// # Errors
//
// Unknown keys, duplicate keys, wrong types, missing required fields, values
// rolestore rejects and broken cross references (a profile's role that does
// not exist, two roles on one profile, an instance profile that is not
// declared) are each an *Error naming file, line, column and the YAML path of
// the field, such as
//
//	imdsemu.yaml:14:27: roles[1].max-session-duration: must be between 1h0m0s and 12h0m0s, got 13h
//
// Parse reports up to 20 problems at once, joined with errors.Join in file
// order; errors.As finds the first. Error messages never contain policy
// documents.
//
// The package has no state; everything in it is safe for concurrent use.
package config
