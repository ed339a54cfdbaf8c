// Package sts is imdsemu's internal Security Token Service.
//
// The [Issuer] mints temporary credentials the way AWS STS does: an access key
// id of "ASIA" and sixteen base32 characters, a forty-character secret, and a
// session token. The token is the whole session sealed with AES-256-GCM under a
// key kept in the data directory, so any imdsemu holding that key can verify a
// request signed with the credentials without a database lookup. Revocation is
// the caller's job: a small per-role "issued before" record, checked against
// [Session.IssuedAt].
//
// Session lifetimes follow the AWS STS table (see [Durations]): one place, one
// table, used by every action.
//
// An Issuer is safe for concurrent use and starts no goroutines.
package sts
