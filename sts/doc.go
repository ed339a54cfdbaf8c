// Package sts is imdsemu's internal Security Token Service: the Issuer that
// mints and seals temporary credentials, and the STS Query API (version
// 2011-06-15) on top of it.
//
// # Issuer
//
// The [Issuer] mints temporary credentials the way AWS STS does: an access
// key id of "ASIA" and sixteen base32 characters (the account encoded in the
// first eight, as AWS does), a forty-character secret, and a session token.
// The token is the whole session sealed with AES-256-GCM under a key kept in
// the data directory: principal, role, session name, issue and expiry time,
// session policy, policy ARNs, session tags, MFA time, source identity. Any
// imdsemu holding that key can verify a request signed with the credentials
// without a database lookup. [Issuer.SealMessage] seals the encoded
// authorization failure messages DecodeAuthorizationMessage opens.
//
// Session lifetimes follow the AWS STS table (see [Durations]): one place,
// one table, used by every action.
//
// # Server
//
// [Server] answers the Query API (POST form bodies and GET query strings,
// XML responses and ErrorResponse documents, x-amzn-RequestId and Date
// headers) for GetCallerIdentity, AssumeRole, GetSessionToken,
// GetFederationToken, AssumeRoleWithWebIdentity, AssumeRoleWithSAML,
// GetAccessKeyInfo and DecodeAuthorizationMessage. Every signed request's
// Signature Version 4 (Authorization header or presigned query) is verified
// by the hand-written verifier of internal/sigv4, which follows the IAM User
// Guide and is tested against the aws-sdk-go-v2 signer. Temporary credentials are
// verified from their token alone; long-term AKIA keys, users, MFA devices,
// identity providers and revocations come from a [Directory]
// (*rolestore.SQLite). Authorization uses the policy package: role trust
// policies, the caller's identity policies and its session policies.
// Errors are *[Error] values carrying AWS's code, status and message.
//
// [Server.Authenticate] and [Server.Authorize] (caller.go) lend the same
// verifier and authorizer to the IAM Query API (package iamapi), so that a
// credential means the same on both; [Server.PermissionsOf] gives
// SimulatePrincipalPolicy a principal's policies as its requests get them.
//
// See docs/sts.md for the API as clients see it.
//
// # Concurrency
//
// An Issuer and a Server are safe for concurrent use and start no
// goroutines.
package sts
