// Package e2e holds end-to-end tests: they build the imdsemu binary, start
// `imdsemu serve` as a process on free loopback ports, and drive it with the
// real, unmodified clients: aws-sdk-go-v2, boto3 and the AWS CLI (Debian's
// packages), and the AWS SDK for JavaScript v3 (npm, e2e/js).
//
// Safety: every client is pointed at the emulator's loopback address with
// AWS_EC2_METADATA_SERVICE_ENDPOINT, and every other credential source is
// emptied (environment keys, profiles, shared files pointed at empty temp
// files), so no real credential on the machine is ever read and nothing is
// ever sent to the real metadata address.
package e2e
