// Package probes holds the real AWS SDKs as long-lived processes that the
// provider lab drives as lanes, and the line protocol they speak.
//
// A probe IS one SDK, unmodified: aws-sdk-go-v2 (./gov2), aws-sdk-go v1
// (./gov1), botocore (./botocore, Debian's python3-botocore), the AWS SDK for
// JavaScript v3 and v2 (./js, pinned by package-lock.json) and the Ruby SDK
// (./ruby, Debian's ruby-aws-sdk-core). Each keeps one credential provider
// for its whole life, so the SDK's own cache, refresh windows and retries play
// out over time exactly as in an application.
//
// # Protocol
//
// The lab starts a probe with AWS_EC2_METADATA_SERVICE_ENDPOINT (the emulator,
// with a trailing slash), AWS_REGION and IMDSEMU_PROBE_STS_ENDPOINT (imdsemu's
// STS URL), and no other credential source (see [Env]). The probe writes one
// [Ready] line, then reads [Request] lines on stdin and answers each retrieve
// with one [Result] line, in completion order: several requests may be in
// flight at once, so the lab matches answers to requests by ID. A quit
// request or the end of stdin makes the probe answer what is in flight and
// exit 0. Lines are JSON objects, one per line. README.md beside this file
// describes the protocol for the non-Go probes and gives each command line.
//
// [Serve] is the protocol loop of the Go probes; [Command] builds the command
// that starts a probe.
//
// # Secrets
//
// A probe never writes a secret key or session token: only the access key id,
// the expiry the SDK believes, and error messages (which the SDKs write
// without secrets).
package probes
