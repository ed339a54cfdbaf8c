package policy

import (
	"testing"
)

// Fixtures shared by the test files.
const (
	acct      = "111122223333"
	otherAcct = "444455556666"
	userARN   = "arn:aws:iam::111122223333:user/alice"
	roleARN   = "arn:aws:iam::111122223333:role/app/Reader"
	sessARN   = "arn:aws:sts::111122223333:assumed-role/Reader/s1"
	rootARN   = "arn:aws:iam::111122223333:root"
)

func mustParse(tb testing.TB, kind Kind, doc string) *Document {
	tb.Helper()
	d, err := ParseOptions([]byte(doc), Options{Kind: kind, Name: "p"})
	if err != nil {
		tb.Fatalf("Parse(%s) error: %v", doc, err)
	}
	return d
}

func mustParseNamed(tb testing.TB, kind Kind, name, doc string) *Document {
	tb.Helper()
	d, err := ParseOptions([]byte(doc), Options{Kind: kind, Name: name})
	if err != nil {
		tb.Fatalf("Parse(%s) error: %v", doc, err)
	}
	return d
}

func user() Principal { return Principal{Type: PrincipalAWS, ARN: userARN} }

func session() Principal {
	return Principal{Type: PrincipalAWS, ARN: sessARN, Equivalent: []string{roleARN}}
}

// ctx builds a Context from alternating key, value pairs; a value may hold
// several comma-free entries separated by "|".
func ctx(kv ...string) Context {
	var c Context
	for i := 0; i+1 < len(kv); i += 2 {
		c.Add(kv[i], splitBar(kv[i+1])...)
	}
	return c
}

func splitBar(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '|' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
