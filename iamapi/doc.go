// Package iamapi is the IAM Query API (version 2010-05-08) over imdsemu's
// IAM store, so that the real AWS CLI, boto3 and the SDKs manage users,
// groups, roles, instance profiles, policies and keys with --endpoint-url
// as they would in AWS.
//
// # Protocol
//
// Requests are form-encoded (POST bodies, or GET query strings) with
// Action and Version=2010-05-08. Responses are XML in the namespace
// https://iam.amazonaws.com/doc/2010-05-08/: <ActionResponse> with
// <ActionResult> (none for the actions whose output is empty) and
// <ResponseMetadata><RequestId>, lists as <member> elements, List* calls
// paginated with IsTruncated and an opaque Marker, policy documents
// URL-encoded as IAM returns them (botocore decodes them). Errors are
// <ErrorResponse> documents with Type, Code and Message and AWS's status
// codes. botocore's IAM model (service-2.json) and aws-sdk-go-v2's
// service/iam deserializers are the reference.
//
// # Authentication and authorization
//
// Every request is signed with SigV4 for the service "iam"; the STS
// server's verifier checks it (sts.Server.Authenticate), so a credential
// means the same on both APIs. Every action is authorized by the policy
// engine against the caller's own permissions (sts.Server.Authorize), with
// the action (iam:CreateUser) and resource (the user's ARN, or
// arn:aws:iam::ACCOUNT:user/ for ListUsers) of the Service Authorization
// Reference; a denial is IAM's AccessDenied message naming both. IAM
// refuses the temporary credentials of GetFederationToken and those of
// GetSessionToken made without MFA (InvalidClientTokenId); role sessions
// act under their role's policies; the root user is not restricted.
//
// Dispatch lets one listener serve STS and IAM: requests whose credential
// scope names "iam" go to the IAM server.
//
// # Effects
//
// The store is the one the STS server and the metadata service read:
// a key created here signs STS requests at once, a deactivated one stops
// working at once, and a role added to an instance profile is announced to
// the ProfileWatcher, which has the metadata service serve it at once.
//
// # Concurrency
//
// A Server is safe for concurrent use and starts no goroutines. It keeps
// state besides the store, in memory: the last credential report of each
// account (IAM keeps one four hours), the account password policies, and
// the virtual MFA devices not yet enabled for a user.
//
// See docs/iam.md for the coverage table.
package iamapi
