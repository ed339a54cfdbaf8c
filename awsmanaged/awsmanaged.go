// Package awsmanaged is the catalogue of AWS managed policies shipped in the
// imdsemu binary: the real policy documents of the commonly used ones, each
// with its ARN (arn:aws:iam::aws:policy/PATH/NAME), path, default version id
// and dates, as AWS's managed policy reference lists them. It is a leaf: it
// imports nothing of imdsemu's and does no I/O beyond its embedded files.
//
// The documents are kept byte for byte in policies/PATH/NAME.json; the
// table in catalogue.go gives each its version and dates. Where imdsemu
// ships only part of a policy (ReadOnlyAccess, whose real document lists
// hundreds of services), the entry says so in Subset and docs/iam.md lists
// what is kept.
package awsmanaged

import (
	"embed"
	"io/fs"
	"strings"
	"time"
)

//go:embed policies
var files embed.FS // read-only after compilation

// Prefix starts the ARN of every AWS managed policy.
const Prefix = "arn:aws:iam::aws:policy"

// Policy is one AWS managed policy.
type Policy struct {
	// Name is the policy name, e.g. "Billing".
	Name string
	// Path is "/" or e.g. "/job-function/".
	Path string
	// VersionID is the default version, e.g. "v12".
	VersionID   string
	Description string
	// Document is the default version's JSON document.
	Document string
	// Created and Updated are the policy's creation and last edit times.
	Created, Updated time.Time
	// Subset is true when Document keeps only part of AWS's document.
	Subset bool
}

// ARN returns arn:aws:iam::aws:policy/PATH/NAME.
func (p Policy) ARN() string { return Prefix + p.Path + p.Name }

// IsAWSManaged reports whether arn has the shape of an AWS managed policy
// ARN (arn:aws:iam::aws:policy/...), known to the catalogue or not.
func IsAWSManaged(arn string) bool { return strings.HasPrefix(arn, Prefix+"/") }

// Lookup returns the policy with the given ARN. ARNs are compared exactly,
// as IAM does.
func Lookup(arn string) (Policy, bool) {
	if !IsAWSManaged(arn) {
		return Policy{}, false
	}
	for _, e := range catalogue() {
		if e.ARN() == arn {
			return e.load(), true
		}
	}
	return Policy{}, false
}

// All returns every policy of the catalogue, sorted by path and name.
func All() []Policy {
	entries := catalogue()
	out := make([]Policy, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.load())
	}
	return out
}

// load fills in the document from the embedded file.
func (p Policy) load() Policy {
	b, err := files.ReadFile("policies" + p.Path + p.Name + ".json")
	if err != nil {
		// The table and the files are checked against each other by the
		// package's tests; a missing file is a build mistake.
		panic("awsmanaged: no document for " + p.ARN())
	}
	p.Document = string(b)
	return p
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic("awsmanaged: bad date " + s)
	}
	return t
}

// Files returns the embedded documents, policies/PATH/NAME.json.
func Files() fs.FS { return files }
