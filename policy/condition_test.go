package policy

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// condAllows evaluates an identity policy with one Allow statement carrying
// cond and reports whether the request is allowed.
func condAllows(t *testing.T, version, cond string, c Context) bool {
	t.Helper()
	v := ""
	if version != "" {
		v = fmt.Sprintf(`"Version": %q, `, version)
	}
	doc := fmt.Sprintf(`{%s"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": %s}}`, v, cond)
	d := mustParse(t, KindManaged, doc)
	dec := Evaluate(Request{Principal: user(), Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: c}, Set{Identity: []*Document{d}})
	if !dec.Allowed && dec.Reason != ImplicitDeny {
		t.Fatalf("a failed condition gave %v, want an implicit deny", dec.Reason)
	}
	return dec.Allowed
}

var conditionTests = []struct {
	name    string
	version string // "" means 2012-10-17
	cond    string
	ctx     Context
	want    bool
}{
	// String operators.
	{"StringEquals match", "", `{"StringEquals": {"aws:username": "johndoe"}}`, ctx("aws:username", "johndoe"), true},
	{"StringEquals is case-sensitive", "", `{"StringEquals": {"aws:username": "johndoe"}}`, ctx("aws:username", "JohnDoe"), false},
	{"StringEquals missing key is false", "", `{"StringEquals": {"aws:username": "johndoe"}}`, Context{}, false},
	{"condition key names are case-insensitive", "", `{"StringEquals": {"AWS:UserName": "johndoe"}}`, ctx("aws:username", "johndoe"), true},
	{"context key names are case-insensitive", "", `{"StringEquals": {"aws:username": "johndoe"}}`, ctx("AWS:USERNAME", "johndoe"), true},
	{"StringEquals values are OR", "", `{"StringEquals": {"aws:username": ["bob", "johndoe"]}}`, ctx("aws:username", "johndoe"), true},
	{"StringEquals has no wildcards", "", `{"StringEquals": {"s3:prefix": "home/*"}}`, ctx("s3:prefix", "home/x"), false},
	{"StringEquals any request value", "", `{"StringEquals": {"aws:TagKeys": "b"}}`, ctx("aws:TagKeys", "a|b"), true},
	{"StringEqualsIgnoreCase", "", `{"StringEqualsIgnoreCase": {"aws:username": "JohnDoe"}}`, ctx("aws:username", "johndoe"), true},
	{"StringNotEquals differs", "", `{"StringNotEquals": {"aws:username": "bob"}}`, ctx("aws:username", "alice"), true},
	{"StringNotEquals equal", "", `{"StringNotEquals": {"aws:username": "bob"}}`, ctx("aws:username", "bob"), false},
	{"StringNotEquals missing key is true", "", `{"StringNotEquals": {"aws:username": "bob"}}`, Context{}, true},
	{"StringNotEquals matches none of the values", "", `{"StringNotEquals": {"aws:username": ["alice", "bob"]}}`, ctx("aws:username", "bob"), false},
	{"StringNotEquals none of several", "", `{"StringNotEquals": {"aws:username": ["alice", "bob"]}}`, ctx("aws:username", "carol"), true},
	{"StringNotEqualsIgnoreCase", "", `{"StringNotEqualsIgnoreCase": {"aws:username": "BOB"}}`, ctx("aws:username", "bob"), false},
	{"StringLike star", "", `{"StringLike": {"s3:prefix": "home/*"}}`, ctx("s3:prefix", "home/alice/x"), true},
	{"StringLike is case-sensitive", "", `{"StringLike": {"s3:prefix": "home/*"}}`, ctx("s3:prefix", "Home/alice"), false},
	{"StringLike question mark", "", `{"StringLike": {"s3:prefix": "a?c"}}`, ctx("s3:prefix", "abc"), true},
	{"StringLike question mark is one char", "", `{"StringLike": {"s3:prefix": "a?c"}}`, ctx("s3:prefix", "abbc"), false},
	{"StringLike values are OR", "", `{"StringLike": {"s3:prefix": ["x/*", "y/*"]}}`, ctx("s3:prefix", "y/1"), true},
	{"StringNotLike missing key is true", "", `{"StringNotLike": {"s3:prefix": "private/*"}}`, Context{}, true},
	{"StringNotLike matching", "", `{"StringNotLike": {"s3:prefix": "private/*"}}`, ctx("s3:prefix", "private/a"), false},

	// Policy variables in string conditions.
	{"variable resolves", "", `{"StringLike": {"s3:prefix": "${aws:username}/*"}}`, ctx("aws:username", "alice", "s3:prefix", "alice/docs"), true},
	{"variable other user", "", `{"StringLike": {"s3:prefix": "${aws:username}/*"}}`, ctx("aws:username", "alice", "s3:prefix", "bob/docs"), false},
	{"variable name case-insensitive", "", `{"StringEquals": {"s3:prefix": "${AWS:UserName}"}}`, ctx("aws:username", "alice", "s3:prefix", "alice"), true},
	{"unresolved variable does not match", "", `{"StringLike": {"s3:prefix": "${aws:username}/*"}}`, ctx("s3:prefix", "alice/docs"), false},
	{"unresolved variable: negated operator matches", "", `{"StringNotLike": {"s3:prefix": "${aws:username}/*"}}`, ctx("s3:prefix", "alice/docs"), true},
	{"variable default", "", `{"StringEquals": {"s3:prefix": "${aws:PrincipalTag/team, 'company-wide'}"}}`, ctx("s3:prefix", "company-wide"), true},
	{"variable default unused", "", `{"StringEquals": {"s3:prefix": "${aws:PrincipalTag/team, 'company-wide'}"}}`, ctx("aws:PrincipalTag/team", "red", "s3:prefix", "red"), true},
	{"variable value with wildcard is literal", "", `{"StringLike": {"s3:prefix": "${aws:username}"}}`, ctx("aws:username", "a*", "s3:prefix", "abc"), false},
	{"${*} is a literal star", "", `{"StringLike": {"s3:prefix": "a${*}"}}`, ctx("s3:prefix", "a*"), true},
	{"${*} is not a wildcard", "", `{"StringLike": {"s3:prefix": "a${*}"}}`, ctx("s3:prefix", "ab"), false},
	{"${?} is a literal question mark", "", `{"StringLike": {"s3:prefix": "why${?}"}}`, ctx("s3:prefix", "why?"), true},
	{"${$} is a literal dollar", "", `{"StringEquals": {"s3:prefix": "${$}{x}"}}`, ctx("s3:prefix", "${x}"), true},
	{"2008 policies have no variables", Version2008, `{"StringEquals": {"s3:prefix": "${aws:username}"}}`, ctx("aws:username", "alice", "s3:prefix", "${aws:username}"), true},
	{"absent Version has no variables", "none", `{"StringEquals": {"s3:prefix": "${aws:username}"}}`, ctx("aws:username", "alice", "s3:prefix", "alice"), false},
	{"multi-valued key does not resolve a variable", "", `{"StringEquals": {"s3:prefix": "${aws:TagKeys}"}}`, ctx("aws:TagKeys", "a|b", "s3:prefix", "a"), false},

	// Numeric operators.
	{"NumericLessThan", "", `{"NumericLessThan": {"s3:max-keys": "10"}}`, ctx("s3:max-keys", "9"), true},
	{"NumericLessThan equal", "", `{"NumericLessThan": {"s3:max-keys": "10"}}`, ctx("s3:max-keys", "10"), false},
	{"NumericLessThanEquals", "", `{"NumericLessThanEquals": {"s3:max-keys": "10"}}`, ctx("s3:max-keys", "10"), true},
	{"NumericGreaterThan", "", `{"NumericGreaterThan": {"s3:max-keys": "10"}}`, ctx("s3:max-keys", "10.5"), true},
	{"NumericGreaterThanEquals", "", `{"NumericGreaterThanEquals": {"s3:max-keys": "10"}}`, ctx("s3:max-keys", "9"), false},
	{"NumericEquals decimal", "", `{"NumericEquals": {"s3:max-keys": "3"}}`, ctx("s3:max-keys", "3.0"), true},
	{"NumericNotEquals", "", `{"NumericNotEquals": {"s3:max-keys": "5"}}`, ctx("s3:max-keys", "5"), false},
	{"NumericNotEquals missing key is true", "", `{"NumericNotEquals": {"s3:max-keys": "5"}}`, Context{}, true},
	{"Numeric request value not a number", "", `{"NumericLessThan": {"s3:max-keys": "10"}}`, ctx("s3:max-keys", "abc"), false},
	{"Numeric missing key is false", "", `{"NumericLessThan": {"s3:max-keys": "10"}}`, Context{}, false},
	{"Numeric JSON number value", "", `{"NumericLessThan": {"aws:MultiFactorAuthAge": 3600}}`, ctx("aws:MultiFactorAuthAge", "100"), true},

	// Date operators.
	{"DateGreaterThan", "", `{"DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"}}`, ctx("aws:CurrentTime", "2020-06-30T00:00:00Z"), true},
	{"DateLessThan revoke older sessions", "", `{"DateLessThan": {"aws:TokenIssueTime": "2014-05-07T23:47:00Z"}}`, ctx("aws:TokenIssueTime", "2014-05-07T23:00:00Z"), true},
	{"DateLessThan newer session", "", `{"DateLessThan": {"aws:TokenIssueTime": "2014-05-07T23:47:00Z"}}`, ctx("aws:TokenIssueTime", "2014-05-08T00:00:00Z"), false},
	{"Date missing key is false", "", `{"DateLessThan": {"aws:TokenIssueTime": "2014-05-07T23:47:00Z"}}`, Context{}, false},
	{"Date epoch seconds", "", `{"DateGreaterThan": {"aws:EpochTime": "1517227800"}}`, ctx("aws:EpochTime", "1517227801"), true},
	{"Date epoch as JSON number", "", `{"DateGreaterThan": {"aws:EpochTime": 1517227800}}`, ctx("aws:EpochTime", "1517227700"), false},
	{"Date ISO policy vs epoch request", "", `{"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}`, ctx("aws:CurrentTime", "1500000000"), true},
	{"DateEquals date-only", "", `{"DateEquals": {"aws:CurrentTime": "2020-01-01"}}`, ctx("aws:CurrentTime", "2020-01-01T00:00:00Z"), true},
	{"Date zone offset", "", `{"DateEquals": {"aws:CurrentTime": "2020-01-01T02:00:00+02:00"}}`, ctx("aws:CurrentTime", "2020-01-01T00:00:00Z"), true},
	{"DateLessThanEquals", "", `{"DateLessThanEquals": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}`, ctx("aws:CurrentTime", "2020-01-01T00:00:00Z"), true},
	{"DateGreaterThanEquals", "", `{"DateGreaterThanEquals": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}`, ctx("aws:CurrentTime", "2019-12-31T23:59:59Z"), false},
	{"DateNotEquals missing key is true", "", `{"DateNotEquals": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}`, Context{}, true},

	// Bool, Binary, Null.
	{"Bool true", "", `{"Bool": {"aws:SecureTransport": "true"}}`, ctx("aws:SecureTransport", "true"), true},
	{"Bool false value", "", `{"Bool": {"aws:SecureTransport": "true"}}`, ctx("aws:SecureTransport", "false"), false},
	{"Bool missing key is false", "", `{"Bool": {"aws:SecureTransport": "true"}}`, Context{}, false},
	{"Bool JSON boolean", "", `{"Bool": {"aws:MultiFactorAuthPresent": true}}`, ctx("aws:MultiFactorAuthPresent", "true"), true},
	{"BoolIfExists missing key", "", `{"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}`, Context{}, true},
	{"BoolIfExists present false", "", `{"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}`, ctx("aws:MultiFactorAuthPresent", "false"), false},
	{"BinaryEquals", "", `{"BinaryEquals": {"svc:key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}`, ctx("svc:key", "QmluYXJ5VmFsdWVJbkJhc2U2NA=="), true},
	{"BinaryEquals different", "", `{"BinaryEquals": {"svc:key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}`, ctx("svc:key", "b3RoZXI="), false},
	{"Null true: key absent", "", `{"Null": {"aws:TokenIssueTime": "true"}}`, Context{}, true},
	{"Null true: key present", "", `{"Null": {"aws:TokenIssueTime": "true"}}`, ctx("aws:TokenIssueTime", "2020-01-01T00:00:00Z"), false},
	{"Null false: key present", "", `{"Null": {"aws:TokenIssueTime": "false"}}`, ctx("aws:TokenIssueTime", "2020-01-01T00:00:00Z"), true},
	{"Null false: key absent", "", `{"Null": {"aws:TokenIssueTime": false}}`, Context{}, false},

	// IP address operators.
	{"IpAddress in range", "", `{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}`, ctx("aws:SourceIp", "203.0.113.7"), true},
	{"IpAddress out of range", "", `{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}`, ctx("aws:SourceIp", "198.51.100.1"), false},
	{"IpAddress missing key is false", "", `{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}`, Context{}, false},
	{"IpAddress IPv6", "", `{"IpAddress": {"aws:SourceIp": "2001:DB8:1234:5678::/64"}}`, ctx("aws:SourceIp", "2001:db8:1234:5678::1"), true},
	{"IpAddress bare address", "", `{"IpAddress": {"aws:SourceIp": "203.0.113.7"}}`, ctx("aws:SourceIp", "203.0.113.7"), true},
	{"IpAddress IPv4-mapped request", "", `{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}`, ctx("aws:SourceIp", "::ffff:203.0.113.9"), true},
	{"IpAddress request not an IP", "", `{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}`, ctx("aws:SourceIp", "vpce-1"), false},
	{"NotIpAddress outside all", "", `{"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}}`, ctx("aws:SourceIp", "198.51.100.2"), true},
	{"NotIpAddress inside one", "", `{"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}}`, ctx("aws:SourceIp", "192.0.2.1"), false},
	{"NotIpAddress missing key is true", "", `{"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}`, Context{}, true},

	// ARN operators.
	{"ArnLike region wildcard", "", `{"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:my_topic"}}`, ctx("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:my_topic"), true},
	{"ArnEquals exact", "", `{"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:my_topic"}}`, ctx("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:my_topic"), true},
	{"ArnEquals is case-sensitive", "", `{"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:my_topic"}}`, ctx("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:MY_TOPIC"), false},
	{"ArnLike resource wildcard", "", `{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin*"}}`, ctx("aws:PrincipalArn", "arn:aws:iam::111122223333:role/admin-x"), true},
	{"ArnLike segment does not swallow colons", "", `{"ArnLike": {"aws:SourceArn": "arn:aws:sqs:us-*:111122223333:q"}}`, ctx("aws:SourceArn", "arn:aws:sqs:us-east-1:x:111122223333:q"), false},
	{"StringLike does swallow colons", "", `{"StringLike": {"aws:SourceArn": "arn:aws:sqs:us-*:111122223333:q"}}`, ctx("aws:SourceArn", "arn:aws:sqs:us-east-1:x:111122223333:q"), true},
	{"ArnLike non-ARN value", "", `{"ArnLike": {"aws:SourceArn": "arn:aws:sqs:*:*:*"}}`, ctx("aws:SourceArn", "queue"), false},
	{"ArnLike with variable", "", `{"ArnLike": {"aws:SourceArn": "arn:aws:sqs:*:*:${aws:username}-*"}}`, ctx("aws:username", "alice", "aws:SourceArn", "arn:aws:sqs:us-east-1:111122223333:alice-q"), true},
	{"ArnNotLike missing key is true", "", `{"ArnNotLike": {"aws:SourceArn": "arn:aws:sqs:*:*:*"}}`, Context{}, true},
	{"ArnNotEquals matching", "", `{"ArnNotEquals": {"aws:SourceArn": "arn:aws:sqs:*:*:*"}}`, ctx("aws:SourceArn", "arn:aws:sqs:r:1:q"), false},

	// IfExists.
	{"StringEqualsIfExists missing", "", `{"StringEqualsIfExists": {"ec2:InstanceType": ["t2.micro", "t2.small"]}}`, Context{}, true},
	{"StringEqualsIfExists present mismatch", "", `{"StringEqualsIfExists": {"ec2:InstanceType": ["t2.micro", "t2.small"]}}`, ctx("ec2:InstanceType", "t2.large"), false},
	{"NumericLessThanIfExists missing", "", `{"NumericLessThanIfExists": {"s3:max-keys": "10"}}`, Context{}, true},

	// Set qualifiers.
	{"ForAllValues subset", "", `{"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}`, ctx("aws:TagKeys", "environment"), true},
	{"ForAllValues not subset", "", `{"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}`, ctx("aws:TagKeys", "environment|owner"), false},
	{"ForAllValues absent key is true", "", `{"ForAllValues:StringEquals": {"aws:TagKeys": ["environment"]}}`, Context{}, true},
	{"ForAllValues empty key is true", "", `{"ForAllValues:StringEquals": {"aws:TagKeys": ["environment"]}}`, func() Context { var c Context; c.Set("aws:TagKeys"); return c }(), true},
	{"ForAnyValue overlap", "", `{"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment"]}}`, ctx("aws:TagKeys", "owner|environment"), true},
	{"ForAnyValue no overlap", "", `{"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment"]}}`, ctx("aws:TagKeys", "owner"), false},
	{"ForAnyValue absent key is false", "", `{"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment"]}}`, Context{}, false},
	{"ForAnyValue empty key is false", "", `{"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment"]}}`, func() Context { var c Context; c.Set("aws:TagKeys"); return c }(), false},
	{"ForAnyValue IfExists absent key", "", `{"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": ["environment"]}}`, Context{}, true},
	{"ForAllValues:StringNotEquals", "", `{"ForAllValues:StringNotEquals": {"aws:TagKeys": ["a"]}}`, ctx("aws:TagKeys", "b|c"), true},
	{"ForAllValues:StringNotEquals one equal", "", `{"ForAllValues:StringNotEquals": {"aws:TagKeys": ["a"]}}`, ctx("aws:TagKeys", "a|b"), false},
	{"ForAnyValue:StringNotEquals", "", `{"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["a"]}}`, ctx("aws:TagKeys", "a|b"), true},
	{"ForAnyValue:StringNotEquals all equal", "", `{"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["a"]}}`, ctx("aws:TagKeys", "a"), false},
	{"ForAllValues:StringLike", "", `{"ForAllValues:StringLike": {"aws:TagKeys": ["env*"]}}`, ctx("aws:TagKeys", "env1|env2"), true},
	{"ForAnyValue:StringEqualsIgnoreCase", "", `{"ForAnyValue:StringEqualsIgnoreCase": {"aws:TagKeys": ["ENV"]}}`, ctx("aws:TagKeys", "x|env"), true},

	// AND across operators and keys.
	{"AND across operators, both hold", "", `{"StringEquals": {"aws:username": "alice"}, "IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}`, ctx("aws:username", "alice", "aws:SourceIp", "192.0.2.5"), true},
	{"AND across operators, one fails", "", `{"StringEquals": {"aws:username": "alice"}, "IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}`, ctx("aws:username", "alice", "aws:SourceIp", "10.0.0.1"), false},
	{"AND across keys, one fails", "", `{"StringEquals": {"aws:username": "alice", "aws:PrincipalTag/team": "red"}}`, ctx("aws:username", "alice", "aws:PrincipalTag/team", "blue"), false},
}

func TestCondition_Operators(t *testing.T) {
	for _, tc := range conditionTests {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.version
			switch v {
			case "":
				v = Version2012
			case "none":
				v = ""
			}
			if got := condAllows(t, v, tc.cond, tc.ctx); got != tc.want {
				t.Errorf("Condition %s with context %v: allowed = %v, want %v", tc.cond, tc.ctx.m, got, tc.want)
			}
		})
	}
}

func TestContext_TypedSetters(t *testing.T) {
	var c Context
	c.SetBool("aws:SecureTransport", true)
	c.SetInt("aws:MultiFactorAuthAge", 30)
	c.SetTime("aws:CurrentTime", time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("x", 3600)))
	c.SetIP("aws:SourceIp", netip.MustParseAddr("192.0.2.9"))
	cond := `{"Bool": {"aws:SecureTransport": true},
		"NumericLessThan": {"aws:MultiFactorAuthAge": 3600},
		"DateEquals": {"aws:CurrentTime": "2024-05-01T11:00:00Z"},
		"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}`
	if !condAllows(t, Version2012, cond, c) {
		t.Errorf("typed context values did not satisfy %s", cond)
	}
	if v, ok := c.Get("AWS:SECURETRANSPORT"); !ok || len(v) != 1 || v[0] != "true" {
		t.Errorf("Get(AWS:SECURETRANSPORT) = %v, %v, want [true], true", v, ok)
	}
	c.Delete("aws:SecureTransport")
	if _, ok := c.Get("aws:securetransport"); ok {
		t.Error("Delete did not remove the key")
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		fold       bool
		want       bool
	}{
		{"*", "", false, true},
		{"*", "anything/at:all", false, true},
		{"a*c", "abbbc", false, true},
		{"a*c", "abbbd", false, false},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"*a*b*", "xxaxxbxx", false, true},
		{"*a*b*", "xxbxxaxx", false, false},
		{`a\*`, "a*", false, true},
		{`a\*`, "ab", false, false},
		{`a\\b`, `a\b`, false, true},
		{"s3:get*", "S3:GetObject", true, true},
		{"s3:get*", "S3:GetObject", false, false},
		{"é?", "éü", false, true},
		{"iam:*accesskey*", "iam:CreateAccessKey", true, true},
	}
	for _, tc := range tests {
		if got := globMatch(tc.pattern, tc.s, tc.fold); got != tc.want {
			t.Errorf("globMatch(%q, %q, %v) = %v, want %v", tc.pattern, tc.s, tc.fold, got, tc.want)
		}
	}
}
