// Package credprovider holds client-side models of the AWS SDK for Java
// credential providers, each named after the release whose source it
// follows, for the provider lab (package lab, "imdsemu compare").
//
// It is the client half of imdsemu and imports none of its server packages:
// only the AWS SDK for Go v2 and the standard library. The Java SDKs cannot
// run here (no Maven access), so their providers are rebuilt from their
// source, constant by constant:
//
//   - [Profile]: Java v1's ProfileCredentialsProvider and its file dialect
//     ('#' comments only, no inline comments, case-sensitive keys), the
//     5-minute modification-time check and the 10-minute forced reload;
//     deleting the file leaves the keys.
//   - [JavaV1]: Java v1's InstanceProfileCredentialsProvider with
//     BaseCredentialsFetcher, as of 1.11.x (a failed refresh throws even
//     with valid cached credentials) or the 2024 1.12.x release (cached,
//     even expired, credentials served; the next attempt 50-70 s later);
//     synchronous, or with refreshCredentialsAsync's 1-minute thread.
//   - [JavaV2]: Java v2's InstanceProfileCredentialsProvider with
//     CachedSupplier as of 2.20.x: prefetch at max(½ of the time left,
//     5 min) with jitter, stale at expiry − 1 s, OneCallerBlocks or
//     (asyncCredentialUpdateEnabled) NonBlocking, StaleValueBehavior.ALLOW.
//
// The instance-profile models talk to IMDS as Java does (see
// NewJavaHTTPClient and the models' docs): a token PUT with TTL 21600 per
// request (v1) or per refresh (v2), IMDSv1 fallback per request, no
// retries, Java's timeouts. Each model's doc comment names the source
// files and constants it follows; its tests cite them.
//
// Every model is an [Observed] aws.CredentialsProvider: RetrieveOutcome
// also says whether the credentials came from the cache, a fetch, or were
// served stale, and whether the caller waited.
//
// # Concurrency and goroutines
//
// All providers are safe for concurrent use. JavaV1 with Async starts one
// goroutine at construction (as Java's constructor schedules its thread);
// JavaV2 starts goroutines for background refreshes and timers for its
// deadlines. Close stops them and waits. Profile starts none. Between
// refreshes the async models' Retrieve reads no clock: a timer marks the
// cached value's next deadline (docs/performance.md).
//
// Tests fake time with testing/synctest, so the models read the time
// package's clock; Profile also takes a Now option.
//
// # Secrets
//
// Errors and logs name files, profiles, roles and access key ids, never
// secret keys or session tokens.
package credprovider
