// Package imds is imdsemu's EC2 Instance Metadata Service: the HTTP server
// that answers at 169.254.169.254 (or wherever the caller binds it) the way
// IMDSv1 and IMDSv2 do, so that the AWS SDKs' instance-role credential
// providers work against it unchanged.
//
// A [Server] is an [http.Handler]. It serves:
//
//   - PUT /latest/api/token: IMDSv2 session tokens. The TTL header is required
//     (1–21600 s) and is echoed on the response, which aws-sdk-go-v2 needs
//     before it will send the token at all.
//   - /latest/meta-data/…: a small metadata tree (instance id and type, AMI,
//     host names, private IPv4, placement) and, when an instance profile is
//     attached, iam/info and iam/security-credentials/ROLE.
//   - /latest/dynamic/instance-identity/document: the identity document with
//     the fifteen documented keys.
//
// # Tokens
//
// Tokens are stateless: each one carries its expiry and an HMAC-SHA256 tag
// under a key derived from [Options.TokenKey]. There is no server-side token
// table, so tokens survive a restart with the same key and cost nothing to
// keep. A token issued by a Server with another key does not verify.
//
// # Modes
//
// [Options.HTTPTokens] is "optional" (IMDSv1 and IMDSv2 both work) or
// "required" (a valid token is needed). A request that carries a token which
// is malformed, forged or expired gets 401 in both modes. With
// [Options.EndpointDisabled] every request gets 403. Both can be switched at
// run time with [Server.SetHTTPTokens] and [Server.SetEndpointDisabled].
//
// # Credentials
//
// The Server does not mint credentials. It reads the attached profile and its
// current credentials from a [CredentialSource] on every request that needs
// them; the source must answer from memory.
//
// # Concurrency
//
// A Server is safe for concurrent use and starts no goroutines. Requests take
// no locks: the run-time switches are atomics.
//
// Behaviour follows the EC2 User Guide ("Use the Instance Metadata Service to
// access instance metadata", "Instance identity documents", "IAM roles for
// Amazon EC2") and, where those are silent, what aws-sdk-go-v2, botocore and
// the JavaScript and Java SDKs do with the answers.
package imds
