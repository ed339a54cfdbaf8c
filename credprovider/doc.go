// Package credprovider provides client-side AWS credential providers and a
// runner that uses several of them side by side.
//
// It is the client half of imdsemu and imports none of its server packages:
// only the AWS SDK for Go v2 and the standard library, as an SDK would. The
// two providers follow the AWS SDK for Java v1 classes that made the
// "embedded key or instance role" choice famous:
//
//   - [Profile], like ProfileCredentialsProvider: static keys from a shared
//     credentials file. They never expire; the file is re-read when its
//     modification time advances, checked at most every RefreshInterval
//     (5 minutes by default).
//   - [IMDS], like InstanceProfileCredentialsProvider: role credentials from
//     the EC2 instance metadata service, fetched with the SDK's own IMDS
//     client (feature/ec2/imds: IMDSv2 tokens, IMDSv1 fallback). They are
//     refreshed within PrefetchWindow (15 minutes by default) of their
//     expiry, either by the caller that notices (RefreshSync, Java's
//     default) or by a background goroutine (RefreshAsync, Java's
//     refreshCredentialsAsync(true)).
//
// [Compare] retrieves from several providers every Interval for a Duration,
// optionally checks each credential (the imdsemu CLI calls STS
// GetCallerIdentity), and returns a [Report] that renders as a text table or
// JSON.
//
// # Concurrency and goroutines
//
// Profile and IMDS are safe for concurrent use and cache their credentials
// themselves: do not wrap them in aws.CredentialsCache, which would cache
// until expiry and bypass the prefetch window. Concurrent callers of
// IMDS.Retrieve share one fetch.
//
// An IMDS in RefreshAsync mode starts one goroutine after its first
// successful fetch; Close stops it and waits for it. Fetches run under the
// provider's own context, not the caller's, so one caller giving up does not
// cancel a fetch other callers wait for; Close cancels them. Profile starts no
// goroutines. Compare runs on the caller's goroutine.
//
// # Secrets
//
// Errors and logs name files, profiles, roles and access key ids, never
// secret keys or session tokens.
//
// See the AWS SDKs and Tools reference guide, "Shared config and credentials
// files", and the EC2 user guide, "Retrieve security credentials from
// instance metadata".
package credprovider
