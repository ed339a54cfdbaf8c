// Package audit is imdsemu's security audit: rules that read a snapshot of
// the IAM model and of what the server saw (key use, IMDSv1 calls) and
// report findings, each with a severity and the fix, in the spirit of the
// IAM best practices the project's notes list: no root access keys, MFA
// for everyone, keys rotated within 90 days and deleted when unused,
// permissions through groups, least privilege, IMDSv2, and roles rather
// than long-term keys for apps on EC2.
//
// The rules (Run) are pure functions of an Input and its clock, Input.Now.
// Gather builds the Input from small interfaces the package declares
// (Directory, Managed, KeyUses, Fleet); cmd adapts the store, the STS key
// use log, the instance router and the IMDSv1 counter to them. Nothing here
// starts a goroutine or keeps state.
package audit
