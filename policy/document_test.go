package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Valid documents modelled on the examples of the IAM policy element
// reference, one or more per element.
var validDocs = []struct {
	name string
	kind Kind
	doc  string
}{
	{"Statement as object", KindManaged, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}}`},
	{"Statement as array", KindManaged, `{"Version":"2012-10-17","Statement":[{"Sid":"1","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::b/*"]},{"Effect":"Deny","NotAction":"iam:*","Resource":"*"}]}`},
	{"Version 2008", KindManaged, `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`},
	{"no Version", KindInlineUser, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`},
	{"Id element", KindManaged, `{"Version":"2012-10-17","Id":"cd3ad3d9-2776-4ef1-a904-4c229d1642ee","Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"*"}}`},
	{"NotResource", KindInlineRole, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::HRBucket/Payroll","arn:aws:s3:::HRBucket/Payroll/*"]}}`},
	{"wildcard action", KindManaged, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::account-id:user/${aws:username}"}}`},
	{"resource ending in star with fewer parts", KindManaged, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:Get*","Resource":"arn:aws:iam::*"}}`},
	{"condition with bool and number", KindManaged, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":true},"NumericLessThan":{"aws:MultiFactorAuthAge":3600}}}}`},
	{"empty Condition", KindManaged, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{}}}`},
	{"trust: AWS account", KindTrust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}}`},
	{"trust: service list", KindTrust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},"Action":"sts:AssumeRole"}}`},
	{"trust: OIDC", KindTrust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:org/repo:*"}}}}`},
	{"trust: external id", KindTrust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"Unique ID Assigned by Example Corp"}}}}`},
	{"resource: everyone", KindResource, `{"Version":"2012-10-17","Statement":{"Sid":"Public read","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`},
	{"resource: NotPrincipal deny", KindResource, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::444455556666:user/Bob","arn:aws:iam::444455556666:root"]},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}}`},
	{"resource: canonical user", KindResource, `{"Statement":{"Effect":"Allow","Principal":{"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`},
	{"session policy", KindSession, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/é*"}}`},
}

func TestParse_Valid(t *testing.T) {
	for _, tc := range validDocs {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.doc), tc.kind); err != nil {
				t.Errorf("Parse(%s) error: %v", tc.doc, err)
			}
		})
	}
}

func TestParse_Errors(t *testing.T) {
	stmt := func(s string) string { return `{"Version":"2012-10-17","Statement":[` + s + `]}` }
	ok := `{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`
	tests := []struct {
		name      string
		kind      Kind
		doc       string
		statement int
		field     string
		msg       string // substring of Detail()
	}{
		{"lower-case effect", KindManaged, stmt(ok + `,{"Sid":"S3","Effect":"allow","Action":"s3:*","Resource":"*"}`), 1, "Effect",
			`Statement[1] (Sid "S3"): Effect must be "Allow" or "Deny", got "allow"`},
		{"missing effect", KindManaged, stmt(`{"Action":"s3:*","Resource":"*"}`), 0, "Effect", "statement has no Effect"},
		{"bad version", KindManaged, `{"Version":"2012-10-18","Statement":` + ok + `}`, -1, "Version", `Version must be "2012-10-17" or "2008-10-17", got "2012-10-18"`},
		{"version not string", KindManaged, `{"Version":2012,"Statement":` + ok + `}`, -1, "Version", "Version must be a string, got a number"},
		{"no statement", KindManaged, `{"Version":"2012-10-17"}`, -1, "Statement", "no Statement element"},
		{"empty statement array", KindManaged, `{"Version":"2012-10-17","Statement":[]}`, -1, "Statement", "at least one statement"},
		{"statement not object", KindManaged, stmt(`"x"`), 0, "", "each statement must be an object"},
		{"unknown top-level element", KindManaged, `{"Version":"2012-10-17","Statment":` + ok + `}`, -1, "Statment", `top-level element "Statment" is not allowed`},
		{"wrong case top-level element", KindManaged, `{"version":"2012-10-17","Statement":` + ok + `}`, -1, "version", `did you mean "Version"`},
		{"unknown statement element", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Foo":1}`), 0, "Foo", `statement element "Foo" is not allowed`},
		{"both Action and NotAction", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","NotAction":"iam:*","Resource":"*"}`), 0, "NotAction", "both Action and NotAction"},
		{"neither Action nor NotAction", KindManaged, stmt(`{"Effect":"Allow","Resource":"*"}`), 0, "Action", "an Action or a NotAction"},
		{"both Resource and NotResource", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"*"}`), 0, "NotResource", "both Resource and NotResource"},
		{"identity policy without Resource", KindInlineRole, stmt(`{"Effect":"Allow","Action":"s3:*"}`), 0, "Resource", "a Resource or a NotResource"},
		{"identity policy with Principal", KindManaged, stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}`), 0, "Principal", "must not specify a Principal"},
		{"action without service", KindManaged, stmt(`{"Effect":"Allow","Action":"GetObject","Resource":"*"}`), 0, "Action", "prefixed by a service"},
		{"action with space", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:Get Object","Resource":"*"}`), 0, "Action", "contains ' '"},
		{"empty action list", KindManaged, stmt(`{"Effect":"Allow","Action":[],"Resource":"*"}`), 0, "Action", "must not be an empty array"},
		{"action not string", KindManaged, stmt(`{"Effect":"Allow","Action":["s3:*",5],"Resource":"*"}`), 0, "Action", "Action[1] must be a string, got a number"},
		{"resource not ARN", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}`), 0, "Resource", "must be an ARN"},
		{"resource too few parts", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3"}`), 0, "Resource", "six colon-separated parts"},
		{"duplicate key", KindManaged, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Effect":"Deny","Action":"s3:*","Resource":"*"}}`, -2, "", `duplicate key "Effect"`},
		{"bad JSON", KindManaged, `{"Version":"2012-10-17",}`, -2, "", "invalid JSON at line 1"},
		{"trailing data", KindManaged, `{"Statement":` + ok + `} {}`, -2, "", "unexpected data after"},
		{"not an object", KindManaged, `[1]`, -1, "", "must be a JSON object, got an array"},
		{"duplicate Sid", KindManaged, stmt(`{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"}`), 1, "Sid", `Sid "A" is already used by Statement[0]`},
		{"IAM Sid with space", KindManaged, stmt(`{"Sid":"My Sid","Effect":"Allow","Action":"s3:*","Resource":"*"}`), 0, "Sid", "only ASCII letters and digits"},
		{"unknown operator", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqual":{"aws:username":"a"}}}`), 0, "Condition.StringEqual", `condition operator "StringEqual" is not valid`},
		{"operator wrong case", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"stringequals":{"aws:username":"a"}}}`), 0, "Condition.stringequals", `did you mean "StringEquals"`},
		{"Null IfExists", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NullIfExists":{"aws:username":"true"}}}`), 0, "Condition.NullIfExists", "Null takes no IfExists"},
		{"condition key without prefix", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"username":"a"}}}`), 0, "Condition.StringEquals.username", "prefixed by a service"},
		{"numeric value not a number", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"ten"}}}`), 0, "Condition.NumericLessThan.s3:max-keys", `value "ten" for key "s3:max-keys" is not a number`},
		{"date value", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"yesterday"}}}`), 0, "Condition.DateLessThan.aws:CurrentTime", "is not a date"},
		{"ip value", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"300.0.0.0/8"}}}`), 0, "Condition.IpAddress.aws:SourceIp", "not an IP address or CIDR"},
		{"bool value", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}`), 0, "Condition.Bool.aws:SecureTransport", `not "true" or "false"`},
		{"binary value", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"BinaryEquals":{"s:k":"%%%"}}}`), 0, "Condition.BinaryEquals.s:k", "not base64"},
		{"condition value object", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:username":{"a":1}}}}`), 0, "Condition.StringEquals.aws:username", "got an object"},
		{"condition value null", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:username":null}}}`), 0, "Condition.StringEquals.aws:username", "got null"},
		{"empty operator block", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{}}}`), 0, "Condition.StringEquals", "has no condition keys"},
		{"variable default without quotes", KindManaged, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username, anon}"}`), 0, "Resource", "single quotes"},
		{"trust without Principal", KindTrust, stmt(`{"Effect":"Allow","Action":"sts:AssumeRole"}`), 0, "Principal", "must have a Principal"},
		{"trust with NotPrincipal", KindTrust, stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}`), 0, "NotPrincipal", "must not use NotPrincipal"},
		{"resource NotPrincipal with Allow", KindResource, stmt(`{"Effect":"Allow","NotPrincipal":{"AWS":"123456789012"},"Action":"s3:*"}`), 0, "NotPrincipal", `only with "Effect": "Deny"`},
		{"principal string not star", KindResource, stmt(`{"Effect":"Allow","Principal":"123456789012","Action":"s3:*"}`), 0, "Principal", `must be "*" or an object`},
		{"principal partial wildcard", KindResource, stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/*"},"Action":"s3:*"}`), 0, "Principal.AWS", "wildcards are allowed only as the whole value"},
		{"principal unknown type", KindResource, stmt(`{"Effect":"Allow","Principal":{"aws":"123456789012"},"Action":"s3:*"}`), 0, "aws", `did you mean "AWS"`},
		{"principal bad AWS value", KindResource, stmt(`{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"s3:*"}`), 0, "Principal.AWS", "12-digit account ID"},
		{"empty principal object", KindResource, stmt(`{"Effect":"Allow","Principal":{},"Action":"s3:*"}`), 0, "Principal", "at least one principal"},
		{"session policy character", KindSession, `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/中"}}`, -1, "", "U+4E2D"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), tc.kind)
			if err == nil {
				t.Fatalf("Parse(%s) succeeded, want an error containing %q", tc.doc, tc.msg)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Parse(%s) error = %q, want it to contain %q", tc.doc, err, tc.msg)
			}
			var coded interface{ ErrorCode() string }
			if !errors.As(err, &coded) || coded.ErrorCode() != CodeMalformedPolicyDocument {
				t.Errorf("Parse(%s) error %T has no ErrorCode %q", tc.doc, err, CodeMalformedPolicyDocument)
			}
			if tc.statement == -2 {
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Errorf("Parse(%s) error is %T, want *SyntaxError", tc.doc, err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse(%s) error is %T, want *ValidationError", tc.doc, err)
			}
			if ve.Statement != tc.statement || ve.Field != tc.field {
				t.Errorf("Parse(%s) error at Statement %d Field %q, want %d %q", tc.doc, ve.Statement, ve.Field, tc.statement, tc.field)
			}
		})
	}
}

func TestParse_SyntaxErrorPosition(t *testing.T) {
	doc := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [,]\n}"
	_, err := Parse([]byte(doc), KindManaged)
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("Parse error = %v, want *SyntaxError", err)
	}
	if se.Line != 3 {
		t.Errorf("SyntaxError line = %d, want 3 (%v)", se.Line, se)
	}
}

func TestParse_SizeLimits(t *testing.T) {
	// A document of exactly n non-whitespace characters, padded with spaces.
	sized := func(kind Kind, n int) []byte {
		head := `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/`
		if !kind.identityBased() {
			head = `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/`
		}
		tail := `"}}`
		fill := n - len(head) - len(tail)
		return []byte(head + strings.Repeat("x", fill) + tail + strings.Repeat(" ", 500))
	}
	tests := []struct {
		kind  Kind
		limit int
	}{
		{KindManaged, 6144}, {KindBoundary, 6144}, {KindInlineUser, 2048}, {KindInlineGroup, 5120},
		{KindInlineRole, 10240}, {KindResource, 20480}, {KindTrust, 2048},
	}
	for _, tc := range tests {
		t.Run(tc.kind.String(), func(t *testing.T) {
			if got := tc.kind.SizeLimit(); got != tc.limit {
				t.Errorf("%v.SizeLimit() = %d, want %d", tc.kind, got, tc.limit)
			}
			if _, err := Parse(sized(tc.kind, tc.limit), tc.kind); err != nil {
				t.Errorf("Parse(%d chars + whitespace) error: %v", tc.limit, err)
			}
			_, err := Parse(sized(tc.kind, tc.limit+1), tc.kind)
			var se *SizeError
			if !errors.As(err, &se) || se.Limit != tc.limit || se.Size != tc.limit+1 || se.ErrorCode() != "LimitExceeded" {
				t.Errorf("Parse(%d chars) error = %v, want *SizeError{Limit: %d}", tc.limit+1, err, tc.limit)
			}
			if _, err := ParseOptions(sized(tc.kind, tc.limit+1), Options{Kind: tc.kind, MaxSize: -1}); err != nil {
				t.Errorf("ParseOptions(MaxSize: -1) error: %v", err)
			}
		})
	}
	// Session policies count whitespace.
	doc := sized(KindSession, 2000) // 2000 + 500 spaces
	_, err := Parse(doc, KindSession)
	var se *SizeError
	if !errors.As(err, &se) || se.Size != 2500 || se.ErrorCode() != "ValidationError" {
		t.Errorf("Parse(session, 2500 chars) error = %v, want a SizeError of 2500", err)
	}
}

func TestDocument_Accessors(t *testing.T) {
	d, err := ParseOptions([]byte(`{"Version":"2012-10-17","Id":"x","Statement":{"Sid":"A","Effect":"Deny","NotAction":"iam:*","Resource":"*",
		"Condition":{"StringLike":{"s3:prefix":["a/*"]},"Bool":{"aws:SecureTransport":false}}}}`), Options{Kind: KindInlineRole, Name: "inline:x"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Version() != Version2012 || d.ID() != "x" || d.Kind() != KindInlineRole || d.Name() != "inline:x" {
		t.Errorf("accessors = %q %q %v %q", d.Version(), d.ID(), d.Kind(), d.Name())
	}
	want := []Statement{{
		Sid: "A", Effect: Deny, NotAction: []string{"iam:*"}, Resource: []string{"*"},
		Condition: []Condition{
			{Operator: "Bool", Key: "aws:SecureTransport", Values: []string{"false"}},
			{Operator: "StringLike", Key: "s3:prefix", Values: []string{"a/*"}},
		},
	}}
	got := d.Statements()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Statements() mismatch (-want +got):\n%s", diff)
	}
	got[0].NotAction[0] = "changed"
	if d.Statements()[0].NotAction[0] != "iam:*" {
		t.Error("Statements() returned shared slices")
	}
}

func TestDocument_MarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		in   string
		want string
	}{
		{"strings become arrays", KindManaged,
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["*"]}]}`},
		{"fixed key order, conditions sorted, scalars as strings", KindManaged,
			`{"Statement":[{"Resource":"*","Condition":{"StringLike":{"s3:prefix":"a"},"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":10}},"Action":"s3:*","Effect":"Deny","Sid":"S"}],"Id":"i"}`,
			`{"Id":"i","Statement":[{"Sid":"S","Effect":"Deny","Action":["s3:*"],"Resource":["*"],"Condition":{"Bool":{"aws:SecureTransport":["true"]},"NumericLessThan":{"s3:max-keys":["10"]},"StringLike":{"s3:prefix":["a"]}}}]}`},
		{"principals", KindResource,
			`{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com","AWS":["111122223333"]},"Action":"s3:*"},{"Effect":"Deny","NotPrincipal":"*","Action":"s3:*"}]}`,
			`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["111122223333"],"Service":["ec2.amazonaws.com"]},"Action":["s3:*"]},{"Effect":"Deny","NotPrincipal":"*","Action":["s3:*"]}]}`},
		{"escaping", KindManaged,
			`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/\"<é中\t\u0001😀\\\n\r&>"}}`,
			`{"Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::b/\"\u003cé\u4e2d\t\u0001\ud83d\ude00\\\n\r\u0026\u003e"]}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := mustParse(t, tc.kind, tc.in)
			got, err := d.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("MarshalJSON(%s)\n got %s\nwant %s", tc.in, got, tc.want)
			}
			again, err := ParseOptions(got, Options{Kind: tc.kind, MaxSize: -1})
			if err != nil {
				t.Fatalf("re-parse of %s: %v", got, err)
			}
			if diff := cmp.Diff(d.Statements(), again.Statements()); diff != "" {
				t.Errorf("re-parsed statements differ (-first +second):\n%s", diff)
			}
		})
	}
}

func TestParseKind(t *testing.T) {
	for k := KindManaged; k < kindCount; k++ {
		name := map[Kind]string{KindManaged: "managed", KindBoundary: "boundary", KindInlineUser: "inline-user",
			KindInlineGroup: "inline-group", KindInlineRole: "inline-role", KindSession: "session", KindTrust: "trust", KindResource: "resource"}[k]
		got, err := ParseKind(name)
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v, want %v", name, got, err, k)
		}
	}
	if _, err := ParseKind("identity"); err == nil {
		t.Error(`ParseKind("identity") succeeded, want an error`)
	}
}

func TestStringers(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{KindTrust.String(), "role trust policy"},
		{Kind(99).String(), "Kind(99)"},
		{SourceBoundary.String(), "permissions boundary"},
		{Source(9).String(), "Source(9)"},
		{ExplicitDeny.String(), "explicitDeny"},
		{Reason(9).String(), "Reason(9)"},
		{PrincipalFederated.String(), "Federated"},
		{PrincipalType(9).String(), "PrincipalType(9)"},
		{(&SizeError{Kind: KindManaged, Size: 7000, Limit: 6144}).Error(), "policy: managed policy is 7000 characters excluding whitespace, more than the limit of 6144"},
		{(&SizeError{Kind: KindSession, Size: 3000, Limit: 2048}).Error(), "policy: session policy is 3000 characters, more than the limit of 2048"},
		{(&ValidationError{Statement: 2, Field: "Action", Msg: "x"}).Error(), "policy: Statement[2]: x"},
		{mustParse(t, KindManaged, `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`).String(),
			`{"Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["*"]}]}`},
		{StatementRef{Source: SourceSession, PolicyIndex: 1, Index: 3}.String(), "session policy #1 statement #3"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if _, err := ParseOptions([]byte(`{}`), Options{Kind: Kind(42)}); err == nil {
		t.Error("ParseOptions with an unknown Kind succeeded")
	}
}

func TestParseCIDR(t *testing.T) {
	tests := []struct {
		in, addr string
		want     bool
	}{
		{"::ffff:192.0.2.0/120", "192.0.2.77", true},
		{"::ffff:192.0.2.0/120", "192.0.3.1", false},
		{"::/0", "2001:db8::1", true},
		{"192.0.2.1", "192.0.2.1", true},
		{"fe80::1%eth0", "", false},
		{"192.0.2.0/33", "", false},
	}
	for _, tc := range tests {
		p, ok := parseCIDR(tc.in)
		if tc.addr == "" {
			if ok {
				t.Errorf("parseCIDR(%q) = %v, want invalid", tc.in, p)
			}
			continue
		}
		if !ok {
			t.Errorf("parseCIDR(%q) invalid", tc.in)
			continue
		}
		cond := fmt.Sprintf(`{"IpAddress": {"aws:SourceIp": %q}}`, tc.in)
		if got := condAllows(t, Version2012, cond, ctx("aws:SourceIp", tc.addr)); got != tc.want {
			t.Errorf("IpAddress %q contains %q = %v, want %v", tc.in, tc.addr, got, tc.want)
		}
	}
}
