// Package imds is imdsemu's EC2 Instance Metadata Service: the HTTP server
// that answers at 169.254.169.254 (or wherever the caller binds it) the way
// IMDSv1 and IMDSv2 do, so that the AWS SDKs' instance-role credential
// providers work against it unchanged.
//
// A [Server] is an [http.Handler]. It serves:
//
//   - PUT /latest/api/token: IMDSv2 session tokens. The TTL header is required
//     (1–21600 s) and is echoed on the response, which aws-sdk-go-v2 needs
//     before it will send the token at all. A PUT with X-Forwarded-For, or to
//     a versioned path (/2021-03-23/api/token), gets 403 with an empty body;
//     GET gets 405 and OPTIONS 200, both with "Allow: OPTIONS, PUT".
//   - GET /: the metadata versions EC2 lists ([Versions], then latest).
//     Every dated version serves latest's tree; repeated slashes count as
//     one.
//   - /latest/meta-data/…: the whole metadata tree of an [Instance] as a
//     current (Nitro) instance in a VPC has it: ids, AMI launch index and
//     manifest path, block-device-mapping/, host names, addresses,
//     network/interfaces/macs/MAC/ in full, placement/, public-keys/,
//     reservation-id, security-groups, services/ (partition and domain by
//     region), system, and tags/instance/ while instance metadata tags are
//     on; iam/info and iam/security-credentials/ROLE while an instance
//     profile is attached; the extended path
//     iam/security-credentials-extended/ROLE (the same document plus
//     AccountId) while [Options.ExtendedCredentials] is on; and the
//     instance identity role credentials under identity-credentials/ec2/
//     when [Options.IdentityCredentials] is set (which may mint them on
//     the first request for them).
//   - The instance's notices ([Server.Notices]): spot/instance-action and
//     spot/termination-time, events/recommendations/rebalance,
//     events/maintenance/scheduled and history, and
//     autoscaling/target-lifecycle-state, posted and withdrawn at run time.
//   - /latest/user-data (application/octet-stream), 404 when there is none.
//   - /latest/dynamic/fws/instance-monitoring, and
//     /latest/dynamic/instance-identity/document: the identity document with
//     the fifteen documented keys, and, with [Options.IdentityKey], its
//     pkcs7, rsa2048 and signature forms (see signing.go for what a verifier
//     must trust).
//
// Every response carries "Server: EC2ws"; responses to requests with a
// valid token carry X-Aws-Ec2-Metadata-Token-Ttl-Seconds, the token's
// remaining life. GET and HEAD work on every metadata path; other methods
// get 405.
//
// [Server.ECSHandler] serves the same credentials in the ECS container
// format on a listener of its own.
//
// # Tokens
//
// Tokens are stateless: each one carries its expiry and an HMAC-SHA256 tag
// under a key derived from [Options.TokenKey], over the token and the
// server's instance id. There is no server-side token table, so tokens
// survive a restart with the same key and cost nothing to keep. A token
// issued by a Server with another key, or for another instance, does not
// verify.
//
// # Hop limit
//
// Token PUT responses leave with the IP TTL (IPv6 hop limit)
// [Options.HopLimit], 1 by default as on EC2, so a client one routed hop
// away (a container behind a router, say) never receives its token, and
// their connection is closed after the response so the low TTL never
// reaches a later response. The server finds the socket through the
// request context: set http.Server.ConnContext to [Server.ConnContext].
//
// # Modes and switches
//
// [Options.HTTPTokens] is "optional" (IMDSv1 and IMDSv2 both work) or
// "required" (a valid token is needed). A request that carries a token which
// is malformed, forged or expired gets 401 in both modes. With
// [Options.EndpointDisabled] every request gets 403. With [Options.Throttle]
// each client IP has a token bucket and requests beyond it get 429. These,
// the hop limit, the extended path and instance metadata tags can all be
// switched at run time ([Server.SetHTTPTokens], [Server.SetEndpointDisabled],
// [Server.SetHopLimit], [Server.SetExtendedCredentials],
// [Server.SetInstanceMetadataTags], [Server.SetThrottle]); [Server.Options]
// reports their current values.
//
// # Credentials
//
// The Server does not mint credentials. It reads the attached profile and its
// current credentials from a [CredentialSource] on every request that needs
// them; the source must answer from memory. The credentials are a
// credential.Value, the one type temporary credentials have from the
// issuer to this server's documents (its Issued is served as LastUpdated,
// Expires as Expiration, SessionToken as Token). An [Attachment] with an
// [ErrorDocument] is served as EC2's error document (HTTP 200 with Code,
// Message and LastUpdated), as when a role's trust policy does not let EC2
// assume it. [Options.OnCredentialsServed] hears of every credential
// document served.
//
// # Concurrency
//
// A Server is safe for concurrent use and starts no goroutines. Requests take
// no locks: the run-time switches are atomics. Only a switched-on throttle
// takes a mutex, to update the client's bucket.
//
// # Cost
//
// A process may hold thousands of Servers, one per emulated instance, so
// a Server holds little until asked: the route table ([Routes]) is shared
// through [Options.Routes], and the instance's listings, leaves, identity
// document and its signatures are rendered on the first request that
// needs them and kept. A new Server holds about 1.5 KB
// (BenchmarkServerRetained).
//
// Behaviour follows the EC2 User Guide ("Use the Instance Metadata Service to
// access instance metadata", "Instance identity documents", "IAM roles for
// Amazon EC2", "Instance identity roles") and, where those are silent, what
// aws-sdk-go-v2, botocore and the JavaScript and Java SDKs do with the
// answers. docs/sdk-behaviour.md records what the Go SDK, boto3 and the AWS
// CLI were seen to do with each behaviour.
package imds
