package policy

import (
	"fmt"
	"strings"
	"testing"
)

// docs is a Set written as JSON, one slice per Set field.
type docs struct {
	identity, resource, trust, boundary, session []string
}

func (ds docs) build(tb testing.TB) Set {
	tb.Helper()
	parse := func(kind Kind, prefix string, in []string) []*Document {
		var out []*Document
		for i, s := range in {
			out = append(out, mustParseNamed(tb, kind, fmt.Sprintf("%s%d", prefix, i), s))
		}
		return out
	}
	return Set{
		Identity: parse(KindInlineRole, "id", ds.identity),
		Resource: parse(KindResource, "res", ds.resource),
		Trust:    parse(KindTrust, "trust", ds.trust),
		Boundary: parse(KindBoundary, "boundary", ds.boundary),
		Session:  parse(KindSession, "session", ds.session),
	}
}

// Statement builders keep the tables readable.
func allow(action, resource string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Sid":"A","Effect":"Allow","Action":%q,"Resource":%q}}`, action, resource)
}

func deny(action, resource string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Sid":"D","Effect":"Deny","Action":%q,"Resource":%q}}`, action, resource)
}

func resAllow(principal, action string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Sid":"R","Effect":"Allow","Principal":%s,"Action":%q,"Resource":"*"}}`, principal, action)
}

func trustAllow(principal, action string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Sid":"T","Effect":"Allow","Principal":%s,"Action":%q}}`, principal, action)
}

const (
	obj      = "arn:aws:s3:::b/k"
	queueARN = "arn:aws:sqs:us-east-1:111122223333:q"
	otherQ   = "arn:aws:sqs:us-east-1:444455556666:q"
	fedUser  = "arn:aws:sts::111122223333:federated-user/bob"
	otherUsr = "arn:aws:iam::444455556666:user/bob"
)

var evaluateTests = []struct {
	name      string
	principal Principal
	action    string
	resource  string
	ctx       Context
	set       docs
	want      Reason
	why       string // substring of Explanation
}{
	// Identity-based policies.
	{"default deny", user(), "s3:GetObject", obj, Context{}, docs{}, ImplicitDeny,
		"no identity-based policy allows the s3:GetObject action"},
	{"identity allow", user(), "s3:GetObject", obj, Context{}, docs{identity: []string{allow("s3:GetObject", "arn:aws:s3:::b/*")}}, Allowed,
		`allowed by identity-based policy "id0" statement "A"`},
	{"action match is case-insensitive", user(), "S3:GETOBJECT", obj, Context{}, docs{identity: []string{allow("s3:getobject", "*")}}, Allowed, ""},
	{"action pattern upper case", user(), "s3:GetObject", obj, Context{}, docs{identity: []string{allow("S3:Get*", "*")}}, Allowed, ""},
	{"action wildcard in the middle", user(), "iam:CreateAccessKey", "*", Context{}, docs{identity: []string{allow("iam:*AccessKey*", "*")}}, Allowed, ""},
	{"action question mark", user(), "s3:GetObject", obj, Context{}, docs{identity: []string{allow("s3:?etObject", "*")}}, Allowed, ""},
	{"action other service", user(), "s3:GetObject", obj, Context{}, docs{identity: []string{allow("ec2:*", "*")}}, ImplicitDeny, ""},
	{"explicit deny wins", user(), "s3:GetObject", obj, Context{}, docs{identity: []string{allow("*", "*"), deny("s3:*", "*")}}, ExplicitDeny,
		`explicit deny in identity-based policy "id1" statement "D"`},
	{"Deny with NotAction denies other actions", user(), "s3:GetObject", obj, Context{},
		docs{identity: []string{allow("*", "*"), `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"iam:*","Resource":"*"}}`}}, ExplicitDeny,
		`identity-based policy "id1" statement #0`},
	{"Deny with NotAction spares listed actions", user(), "iam:ListUsers", "*", Context{},
		docs{identity: []string{allow("*", "*"), `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"iam:*","Resource":"*"}}`}}, Allowed, ""},
	{"Deny with NotAction is case-insensitive", user(), "IAM:listusers", "*", Context{},
		docs{identity: []string{allow("*", "*"), `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"iam:*","Resource":"*"}}`}}, Allowed, ""},
	{"Allow with NotAction", user(), "s3:GetObject", obj, Context{},
		docs{identity: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`}}, Allowed, ""},
	{"Allow with NotAction excludes listed", user(), "iam:CreateUser", "*", Context{},
		docs{identity: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`}}, ImplicitDeny, ""},
	{"NotResource allows others", user(), "s3:GetObject", "arn:aws:s3:::other/x", Context{},
		docs{identity: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::HRBucket/*"}}`}}, Allowed, ""},
	{"NotResource excludes listed", user(), "s3:GetObject", "arn:aws:s3:::HRBucket/pay", Context{},
		docs{identity: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::HRBucket/*"}}`}}, ImplicitDeny, ""},
	{"failed condition on Allow is an implicit deny", user(), "s3:GetObject", obj, ctx("aws:SecureTransport", "false"),
		docs{identity: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}}`}}, ImplicitDeny,
		"no identity-based policy allows"},
	{"failed condition on Deny does not deny", user(), "s3:GetObject", obj, ctx("aws:SecureTransport", "true"),
		docs{identity: []string{allow("s3:*", "*"), `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}`}}, Allowed, ""},
	{"Deny on insecure transport applies", user(), "s3:GetObject", obj, ctx("aws:SecureTransport", "false"),
		docs{identity: []string{allow("s3:*", "*"), `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}`}}, ExplicitDeny, ""},
	{"Deny with StringNotEquals and missing key denies", user(), "s3:GetObject", obj, Context{},
		docs{identity: []string{allow("s3:*", "*"), `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalTag/team":"red"}}}}`}}, ExplicitDeny, ""},
	{"Allow with ForAllValues and absent key allows", user(), "ec2:CreateTags", "*", Context{},
		docs{identity: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}}}}`}}, Allowed, ""},
	{"revoke older sessions", session(), "s3:GetObject", obj, ctx("aws:TokenIssueTime", "2014-05-07T23:00:00Z"),
		docs{identity: []string{allow("*", "*"), `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2014-05-07T23:47:00Z"}}}}`}}, ExplicitDeny, ""},
	{"revocation spares newer sessions", session(), "s3:GetObject", obj, ctx("aws:TokenIssueTime", "2014-05-08T00:00:00Z"),
		docs{identity: []string{allow("*", "*"), `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2014-05-07T23:47:00Z"}}}}`}}, Allowed, ""},

	// Resource matching.
	{"resource star spans slashes", user(), "s3:GetObject", "arn:aws:s3:::bucket/1/2/test/3/object.jpg", Context{},
		docs{identity: []string{allow("s3:*", "arn:aws:s3:::bucket/*/test/*")}}, Allowed, ""},
	{"resource segment wildcard", user(), "sqs:SendMessage", queueARN, Context{}, docs{identity: []string{allow("sqs:*", "arn:aws:sqs:us-*:111122223333:q")}}, Allowed, ""},
	{"resource wildcard stays in its segment", user(), "sqs:SendMessage", "arn:aws:sqs:us-east-1:x:111122223333:q", Context{},
		docs{identity: []string{allow("sqs:*", "arn:aws:sqs:us-*:111122223333:q")}}, ImplicitDeny, ""},
	{"resource trailing star spans segments", user(), "iam:GetUser", userARN, Context{}, docs{identity: []string{allow("iam:*", "arn:aws:iam::*")}}, Allowed, ""},
	{"resource is case-sensitive", user(), "iam:GetUser", "arn:aws:iam::111122223333:user/bob", Context{}, docs{identity: []string{allow("iam:*", "arn:aws:iam::111122223333:user/Bob")}}, ImplicitDeny, ""},
	{"resource colon in resource part", user(), "ssm:GetParameter", "arn:aws:ssm:us-east-1:111122223333:parameter/a:b", Context{},
		docs{identity: []string{allow("ssm:*", "arn:aws:ssm:us-east-1:111122223333:parameter/*")}}, Allowed, ""},
	{"resource variable", user(), "s3:GetObject", "arn:aws:s3:::mybucket/alice/notes", ctx("aws:username", "alice"),
		docs{identity: []string{allow("s3:*", "arn:aws:s3:::mybucket/${aws:username}/*")}}, Allowed, ""},
	{"resource variable other user", user(), "s3:GetObject", "arn:aws:s3:::mybucket/bob/notes", ctx("aws:username", "alice"),
		docs{identity: []string{allow("s3:*", "arn:aws:s3:::mybucket/${aws:username}/*")}}, ImplicitDeny, ""},
	{"resource variable unresolved: statement does not apply", user(), "s3:GetObject", "arn:aws:s3:::mybucket/alice/notes", Context{},
		docs{identity: []string{allow("s3:*", "arn:aws:s3:::mybucket/${aws:username}/*")}}, ImplicitDeny, ""},
	{"resource variable unresolved in Deny NotResource: does not apply", user(), "s3:GetObject", "arn:aws:s3:::mybucket/alice/notes", Context{},
		docs{identity: []string{allow("s3:*", "*"), `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::mybucket/${aws:username}/*"}}`}}, Allowed, ""},
	{"resource variable default", user(), "s3:GetObject", "arn:aws:s3:::mybucket/shared/x", Context{},
		docs{identity: []string{allow("s3:*", "arn:aws:s3:::mybucket/${aws:PrincipalTag/team, 'shared'}/*")}}, Allowed, ""},
	{"resource variable value is literal", user(), "s3:GetObject", "arn:aws:s3:::mybucket/anything/x", ctx("aws:username", "*"),
		docs{identity: []string{allow("s3:*", "arn:aws:s3:::mybucket/${aws:username}/*")}}, ImplicitDeny, ""},
	{"resource variable in 2008 policy is literal", user(), "s3:GetObject", "arn:aws:s3:::mybucket/${aws:username}/x", ctx("aws:username", "alice"),
		docs{identity: []string{`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::mybucket/${aws:username}/*"}}`}}, Allowed, ""},
	{"resource star matches non-ARN", user(), "s3:ListAllMyBuckets", "*", Context{}, docs{identity: []string{allow("s3:*", "*")}}, Allowed, ""},

	// Permissions boundaries.
	{"boundary allows", user(), "s3:GetObject", obj, Context{}, docs{identity: []string{allow("*", "*")}, boundary: []string{allow("s3:*", "*")}}, Allowed, ""},
	{"boundary does not allow", user(), "iam:CreateUser", "*", Context{}, docs{identity: []string{allow("*", "*")}, boundary: []string{allow("s3:*", "*")}}, ImplicitDeny,
		"no permissions boundary allows the iam:CreateUser action"},
	{"boundary alone grants nothing", user(), "s3:GetObject", obj, Context{}, docs{boundary: []string{allow("s3:*", "*")}}, ImplicitDeny,
		"no identity-based policy allows"},
	{"boundary deny", user(), "s3:GetObject", obj, Context{}, docs{identity: []string{allow("*", "*")}, boundary: []string{allow("*", "*"), deny("s3:*", "*")}}, ExplicitDeny,
		`explicit deny in permissions boundary "boundary1" statement "D"`},

	// Session policies.
	{"session policy allows", session(), "s3:GetObject", obj, Context{}, docs{identity: []string{allow("s3:*", "*")}, session: []string{allow("s3:GetObject", "*")}}, Allowed, ""},
	{"session policy limits", session(), "s3:PutObject", obj, Context{}, docs{identity: []string{allow("s3:*", "*")}, session: []string{allow("s3:GetObject", "*")}}, ImplicitDeny,
		"no session policy allows the s3:PutObject action"},
	{"session policy cannot grant", session(), "ec2:RunInstances", "*", Context{}, docs{identity: []string{allow("s3:*", "*")}, session: []string{allow("*", "*")}}, ImplicitDeny,
		"no identity-based policy allows"},
	{"role session without session policy", session(), "s3:GetObject", obj, Context{}, docs{identity: []string{allow("s3:*", "*")}}, Allowed, ""},
	{"federated user without session policy", Principal{ARN: fedUser}, "s3:GetObject", obj, Context{}, docs{identity: []string{allow("s3:*", "*")}}, ImplicitDeny,
		"federated user session without a session policy"},
	{"federated user with session policy", Principal{ARN: fedUser}, "s3:GetObject", obj, Context{}, docs{identity: []string{allow("s3:*", "*")}, session: []string{allow("s3:*", "*")}}, Allowed, ""},

	// Resource-based policies in the same account.
	{"resource policy naming the user", user(), "s3:GetObject", obj, Context{}, docs{resource: []string{resAllow(`{"AWS":"`+userARN+`"}`, "s3:GetObject")}}, Allowed,
		`allowed by resource-based policy "res0" statement "R"`},
	{"resource policy naming another user", user(), "s3:GetObject", obj, Context{}, docs{resource: []string{resAllow(`{"AWS":"arn:aws:iam::111122223333:user/bob"}`, "s3:GetObject")}}, ImplicitDeny, ""},
	{"resource policy naming the session ignores boundary", session(), "s3:GetObject", obj, Context{},
		docs{resource: []string{resAllow(`{"AWS":"`+sessARN+`"}`, "s3:*")}, boundary: []string{allow("ec2:*", "*")}}, Allowed, ""},
	{"resource policy naming the session ignores session policy", session(), "s3:GetObject", obj, Context{},
		docs{resource: []string{resAllow(`{"AWS":"`+sessARN+`"}`, "s3:*")}, session: []string{allow("ec2:*", "*")}}, Allowed, ""},
	{"resource policy naming the role needs no identity allow", session(), "s3:GetObject", obj, Context{},
		docs{resource: []string{resAllow(`{"AWS":"`+roleARN+`"}`, "s3:*")}}, Allowed, ""},
	{"resource policy naming the role is limited by boundary", session(), "s3:GetObject", obj, Context{},
		docs{resource: []string{resAllow(`{"AWS":"`+roleARN+`"}`, "s3:*")}, boundary: []string{allow("ec2:*", "*")}}, ImplicitDeny,
		"no permissions boundary allows the s3:GetObject action"},
	{"resource policy naming the role within boundary", session(), "s3:GetObject", obj, Context{},
		docs{resource: []string{resAllow(`{"AWS":"`+roleARN+`"}`, "s3:*")}, boundary: []string{allow("s3:*", "*")}}, Allowed, ""},
	{"resource policy naming the role is limited by session policy", session(), "s3:GetObject", obj, Context{},
		docs{resource: []string{resAllow(`{"AWS":"`+roleARN+`"}`, "s3:*")}, session: []string{allow("ec2:*", "*")}}, ImplicitDeny,
		"no session policy allows the s3:GetObject action"},
	{"resource policy naming the account defers to identity", user(), "s3:GetObject", obj, Context{},
		docs{resource: []string{resAllow(`{"AWS":"`+acct+`"}`, "s3:*")}}, ImplicitDeny, "no identity-based policy allows"},
	{"resource policy naming the account with identity allow", user(), "s3:GetObject", obj, Context{},
		docs{resource: []string{resAllow(`{"AWS":"`+rootARN+`"}`, "s3:*")}, identity: []string{allow("s3:*", "*")}}, Allowed, ""},
	{"resource policy everyone", user(), "s3:GetObject", obj, Context{}, docs{resource: []string{resAllow(`"*"`, "s3:GetObject")}}, Allowed, ""},
	{"resource policy AWS star", user(), "s3:GetObject", obj, Context{}, docs{resource: []string{resAllow(`{"AWS":"*"}`, "s3:GetObject")}}, Allowed, ""},
	{"resource policy deny naming the user", user(), "s3:GetObject", obj, Context{},
		docs{identity: []string{allow("*", "*")}, resource: []string{`{"Statement":{"Sid":"X","Effect":"Deny","Principal":{"AWS":"` + userARN + `"},"Action":"s3:*"}}`}}, ExplicitDeny,
		`explicit deny in resource-based policy "res0" statement "X"`},
	{"resource policy deny naming the account", user(), "s3:GetObject", obj, Context{},
		docs{identity: []string{allow("*", "*")}, resource: []string{`{"Statement":{"Effect":"Deny","Principal":{"AWS":"` + acct + `"},"Action":"s3:*"}}`}}, ExplicitDeny, ""},
	{"resource policy deny naming someone else", user(), "s3:GetObject", obj, Context{},
		docs{identity: []string{allow("*", "*")}, resource: []string{`{"Statement":{"Effect":"Deny","Principal":{"AWS":"` + otherUsr + `"},"Action":"s3:*"}}`}}, Allowed, ""},
	{"resource policy with condition", user(), "s3:GetObject", obj, ctx("aws:SourceIp", "10.1.2.3"),
		docs{resource: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}}`}}, ImplicitDeny, ""},

	// NotPrincipal.
	{"NotPrincipal exempts listed user and account", user(), "s3:GetObject", obj, Context{},
		docs{identity: []string{allow("*", "*")}, resource: []string{`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["` + userARN + `","` + acct + `"]},"Action":"s3:*"}}`}}, Allowed, ""},
	{"NotPrincipal without the account still denies", user(), "s3:GetObject", obj, Context{},
		docs{identity: []string{allow("*", "*")}, resource: []string{`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["` + userARN + `"]},"Action":"s3:*"}}`}}, ExplicitDeny, ""},
	{"NotPrincipal denies others", Principal{ARN: "arn:aws:iam::111122223333:user/bob"}, "s3:GetObject", obj, Context{},
		docs{identity: []string{allow("*", "*")}, resource: []string{`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["` + userARN + `","` + acct + `"]},"Action":"s3:*"}}`}}, ExplicitDeny, ""},
	{"NotPrincipal exempts session, role and account", session(), "s3:GetObject", obj, Context{},
		docs{identity: []string{allow("*", "*")}, resource: []string{`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["` + sessARN + `","` + roleARN + `","` + rootARN + `"]},"Action":"s3:*"}}`}}, Allowed, ""},
	{"NotPrincipal naming only the role still denies the session", session(), "s3:GetObject", obj, Context{},
		docs{identity: []string{allow("*", "*")}, resource: []string{`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["` + roleARN + `","` + rootARN + `"]},"Action":"s3:*"}}`}}, ExplicitDeny, ""},
	{"NotPrincipal always denies a principal with a boundary", user(), "s3:GetObject", obj, Context{},
		docs{identity: []string{allow("*", "*")}, boundary: []string{allow("*", "*")}, resource: []string{`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["` + userARN + `","` + acct + `"]},"Action":"s3:*"}}`}}, ExplicitDeny, ""},

	// Cross-account.
	{"cross-account needs a resource policy", Principal{ARN: otherUsr}, "sqs:SendMessage", queueARN, Context{},
		docs{identity: []string{allow("sqs:*", "*")}}, ImplicitDeny, "no resource-based policy allows the sqs:SendMessage action"},
	{"cross-account needs an identity allow", Principal{ARN: otherUsr}, "sqs:SendMessage", queueARN, Context{},
		docs{resource: []string{resAllow(`{"AWS":"`+otherUsr+`"}`, "sqs:*")}}, ImplicitDeny, "no identity-based policy allows"},
	{"cross-account both allow", Principal{ARN: otherUsr}, "sqs:SendMessage", queueARN, Context{},
		docs{identity: []string{allow("sqs:*", "*")}, resource: []string{resAllow(`{"AWS":"`+otherAcct+`"}`, "sqs:*")}}, Allowed,
		`allowed by resource-based policy "res0" statement "R" and identity-based policy "id0" statement "A"`},
	{"same account resource without account in ARN", user(), "s3:GetObject", obj, Context{}, docs{identity: []string{allow("s3:*", "*")}}, Allowed, ""},

	// Account root user.
	{"root is allowed without policies", Principal{ARN: rootARN}, "s3:GetObject", obj, Context{}, docs{}, Allowed, "root user of account 111122223333"},
	{"root is subject to explicit deny", Principal{ARN: rootARN}, "s3:GetObject", obj, Context{},
		docs{resource: []string{`{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*"}}`}}, ExplicitDeny, ""},
	{"root of another account needs a resource policy", Principal{ARN: "arn:aws:iam::444455556666:root"}, "sqs:SendMessage", queueARN, Context{}, docs{}, ImplicitDeny, ""},
	{"root of another account named by account", Principal{ARN: "arn:aws:iam::444455556666:root"}, "sqs:SendMessage", queueARN, Context{},
		docs{resource: []string{resAllow(`{"AWS":"`+otherAcct+`"}`, "sqs:*")}}, Allowed, ""},

	// Anonymous, service and federated principals with resource policies.
	{"anonymous with public policy", Principal{Type: PrincipalAnonymous}, "s3:GetObject", obj, Context{}, docs{resource: []string{resAllow(`"*"`, "s3:GetObject")}}, Allowed, ""},
	{"anonymous with account policy", Principal{Type: PrincipalAnonymous}, "s3:GetObject", obj, Context{}, docs{resource: []string{resAllow(`{"AWS":"`+acct+`"}`, "s3:GetObject")}}, ImplicitDeny,
		"no resource-based policy allows"},
	{"service principal", Principal{Type: PrincipalService, ARN: "cloudtrail.amazonaws.com"}, "s3:PutObject", obj, Context{},
		docs{resource: []string{resAllow(`{"Service":"cloudtrail.amazonaws.com"}`, "s3:PutObject")}}, Allowed, ""},
	{"service principal ignores identity policies", Principal{Type: PrincipalService, ARN: "cloudtrail.amazonaws.com"}, "s3:PutObject", obj, Context{},
		docs{identity: []string{allow("*", "*")}}, ImplicitDeny, ""},

	// Role trust policies.
	{"trust naming the user", user(), "sts:AssumeRole", roleARN, Context{}, docs{trust: []string{trustAllow(`{"AWS":"`+userARN+`"}`, "sts:AssumeRole")}}, Allowed,
		`allowed by role trust policy "trust0" statement "T"`},
	{"trust naming the account needs identity allow", user(), "sts:AssumeRole", roleARN, Context{}, docs{trust: []string{trustAllow(`{"AWS":"`+acct+`"}`, "sts:AssumeRole")}}, ImplicitDeny,
		"no identity-based policy allows the sts:AssumeRole action"},
	{"trust naming the account with identity allow", user(), "sts:AssumeRole", roleARN, Context{},
		docs{trust: []string{trustAllow(`{"AWS":"`+rootARN+`"}`, "sts:AssumeRole")}, identity: []string{allow("sts:AssumeRole", roleARN)}}, Allowed, ""},
	{"trust must name the principal", user(), "sts:AssumeRole", roleARN, Context{},
		docs{trust: []string{trustAllow(`{"AWS":"arn:aws:iam::111122223333:user/bob"}`, "sts:AssumeRole")}, identity: []string{allow("sts:*", "*")}}, ImplicitDeny,
		"no role trust policy allows " + userARN + " to perform the sts:AssumeRole action"},
	{"trust action must match", user(), "sts:TagSession", roleARN, Context{}, docs{trust: []string{trustAllow(`{"AWS":"`+userARN+`"}`, "sts:AssumeRole")}}, ImplicitDeny, ""},
	{"trust naming the role matches its session", session(), "sts:AssumeRole", "arn:aws:iam::111122223333:role/Other", Context{},
		docs{trust: []string{trustAllow(`{"AWS":"`+roleARN+`"}`, "sts:AssumeRole")}}, Allowed, ""},
	{"trust naming the role, session policy limits", session(), "sts:AssumeRole", "arn:aws:iam::111122223333:role/Other", Context{},
		docs{trust: []string{trustAllow(`{"AWS":"`+roleARN+`"}`, "sts:AssumeRole")}, session: []string{allow("s3:*", "*")}}, ImplicitDeny, "no session policy allows"},
	{"trust naming another role", Principal{ARN: "arn:aws:sts::111122223333:assumed-role/Writer/s", Equivalent: []string{"arn:aws:iam::111122223333:role/Writer"}}, "sts:AssumeRole", roleARN, Context{},
		docs{trust: []string{trustAllow(`{"AWS":"`+roleARN+`"}`, "sts:AssumeRole")}}, ImplicitDeny, ""},
	{"trust service principal", Principal{Type: PrincipalService, ARN: "ec2.amazonaws.com"}, "sts:AssumeRole", roleARN, Context{},
		docs{trust: []string{trustAllow(`{"Service":["ec2.amazonaws.com"]}`, "sts:AssumeRole")}}, Allowed, ""},
	{"trust other service", Principal{Type: PrincipalService, ARN: "lambda.amazonaws.com"}, "sts:AssumeRole", roleARN, Context{},
		docs{trust: []string{trustAllow(`{"Service":["ec2.amazonaws.com"]}`, "sts:AssumeRole")}}, ImplicitDeny, "no role trust policy allows lambda.amazonaws.com"},
	{"trust OIDC with matching claims", Principal{Type: PrincipalFederated, ARN: "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"}, "sts:AssumeRoleWithWebIdentity", roleARN,
		ctx("token.actions.githubusercontent.com:aud", "sts.amazonaws.com", "token.actions.githubusercontent.com:sub", "repo:org/repo:ref:refs/heads/main"),
		docs{trust: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:org/repo:*"}}}}`}},
		Allowed, ""},
	{"trust OIDC with wrong repository", Principal{Type: PrincipalFederated, ARN: "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"}, "sts:AssumeRoleWithWebIdentity", roleARN,
		ctx("token.actions.githubusercontent.com:aud", "sts.amazonaws.com", "token.actions.githubusercontent.com:sub", "repo:evil/repo:ref:refs/heads/main"),
		docs{trust: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:org/repo:*"}}}}`}},
		ImplicitDeny, ""},
	{"trust external id", Principal{ARN: otherUsr}, "sts:AssumeRole", roleARN, ctx("sts:ExternalId", "secret-1"),
		docs{identity: []string{allow("sts:AssumeRole", "*")}, trust: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"secret-1"}}}}`}},
		Allowed, ""},
	{"trust external id missing", Principal{ARN: otherUsr}, "sts:AssumeRole", roleARN, Context{},
		docs{identity: []string{allow("sts:AssumeRole", "*")}, trust: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"secret-1"}}}}`}},
		ImplicitDeny, ""},
	{"trust cross-account naming user still needs identity allow", Principal{ARN: otherUsr}, "sts:AssumeRole", roleARN, Context{},
		docs{trust: []string{trustAllow(`{"AWS":"`+otherUsr+`"}`, "sts:AssumeRole")}}, ImplicitDeny, "no identity-based policy allows"},
	{"trust deny", user(), "sts:AssumeRole", roleARN, Context{},
		docs{trust: []string{`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},{"Sid":"No","Effect":"Deny","Principal":{"AWS":"` + userARN + `"},"Action":"sts:*"}]}`}}, ExplicitDeny,
		`explicit deny in role trust policy "trust0" statement "No"`},
}

func TestEvaluate(t *testing.T) {
	for _, tc := range evaluateTests {
		t.Run(tc.name, func(t *testing.T) {
			set := tc.set.build(t)
			req := Request{Principal: tc.principal, Action: tc.action, Resource: tc.resource, Context: tc.ctx}
			d := Evaluate(req, set)
			if d.Reason != tc.want || d.Allowed != (tc.want == Allowed) {
				t.Fatalf("Evaluate(%s %s %s) = %v (%q), want %v", tc.principal.ARN, tc.action, tc.resource, d.Reason, d.Explanation, tc.want)
			}
			if !strings.Contains(d.Explanation, tc.why) {
				t.Errorf("Evaluate(%s %s %s) explanation = %q, want it to contain %q", tc.principal.ARN, tc.action, tc.resource, d.Explanation, tc.why)
			}
			if d.Reason == ExplicitDeny {
				found := false
				for _, m := range d.Matched {
					found = found || m.Effect == Deny
				}
				if !found {
					t.Errorf("explicit deny without a matched Deny statement: %+v", d.Matched)
				}
			}
		})
	}
}

func TestEvaluate_ExplainNamed(t *testing.T) {
	d := Evaluate(Request{Principal: user(), Action: "s3:GetObject", Resource: obj}, Set{
		Identity: []*Document{
			mustParseNamed(t, KindInlineUser, "inline:foo", `{"Version":"2012-10-17","Statement":[{"Sid":"AllowAll","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"DenyAll","Effect":"Deny","Action":"*","Resource":"*"}]}`),
		},
	})
	if want := `explicit deny in identity-based policy "inline:foo" statement "DenyAll"`; d.Explanation != want {
		t.Errorf("Explanation = %q, want %q", d.Explanation, want)
	}
	wantMatched := []StatementRef{
		{Source: SourceIdentity, Policy: "inline:foo", Index: 0, Sid: "AllowAll", Effect: Allow},
		{Source: SourceIdentity, Policy: "inline:foo", Index: 1, Sid: "DenyAll", Effect: Deny},
	}
	if fmt.Sprint(d.Matched) != fmt.Sprint(wantMatched) {
		t.Errorf("Matched = %+v, want %+v", d.Matched, wantMatched)
	}
	msg := d.Message(Request{Principal: user(), Action: "s3:GetObject", Resource: obj})
	if want := "User: " + userARN + " is not authorized to perform: s3:GetObject on resource: " + obj + ` with an explicit deny in identity-based policy "inline:foo" statement "DenyAll"`; msg != want {
		t.Errorf("Message = %q, want %q", msg, want)
	}

	d = Evaluate(Request{Principal: user(), Action: "s3:GetObject", Resource: obj}, Set{})
	msg = d.Message(Request{Principal: user(), Action: "s3:GetObject", Resource: obj})
	if want := "User: " + userARN + " is not authorized to perform: s3:GetObject on resource: " + obj + " because no identity-based policy allows the s3:GetObject action"; msg != want {
		t.Errorf("Message = %q, want %q", msg, want)
	}
	if d.Matched != nil {
		t.Errorf("Matched = %v, want none", d.Matched)
	}
}

func TestEvaluate_ResourceVia(t *testing.T) {
	set := docs{resource: []string{
		`{"Statement":[{"Sid":"Acct","Effect":"Allow","Principal":{"AWS":"` + acct + `"},"Action":"s3:*"},` +
			`{"Sid":"Role","Effect":"Allow","Principal":{"AWS":"` + roleARN + `"},"Action":"s3:*"},` +
			`{"Sid":"Sess","Effect":"Allow","Principal":{"AWS":"` + sessARN + `"},"Action":"s3:*"}]}`,
	}}.build(t)
	d := Evaluate(Request{Principal: session(), Action: "s3:GetObject", Resource: obj}, set)
	var via []string
	for _, m := range d.Matched {
		via = append(via, m.Sid+"="+m.Via)
	}
	if got, want := strings.Join(via, " "), "Acct=account Role=equivalent Sess=direct"; got != want {
		t.Errorf("Via = %q, want %q", got, want)
	}
	if !d.Allowed || !strings.Contains(d.Explanation, `statement "Sess"`) {
		t.Errorf("decision = %v %q, want allowed by statement Sess", d.Reason, d.Explanation)
	}
}

func TestEvaluate_NilDocumentsIgnored(t *testing.T) {
	d := Evaluate(Request{Principal: user(), Action: "s3:GetObject", Resource: obj}, Set{
		Identity: []*Document{nil, mustParse(t, KindManaged, allow("s3:*", "*"))},
		Boundary: []*Document{nil},
		Session:  []*Document{nil},
	})
	if !d.Allowed {
		t.Errorf("nil documents changed the decision: %v %q", d.Reason, d.Explanation)
	}
}

func TestEvaluate_Concurrent(t *testing.T) {
	set := Set{Identity: []*Document{mustParse(t, KindInlineRole, bench10)}}
	req := benchRequest()
	want := Evaluate(req, set)
	done := make(chan Decision)
	for range 8 {
		go func() {
			var d Decision
			for range 200 {
				d = Evaluate(req, set)
			}
			done <- d
		}()
	}
	for range 8 {
		if d := <-done; d.Reason != want.Reason || d.Explanation != want.Explanation {
			t.Errorf("concurrent Evaluate = %v %q, want %v %q", d.Reason, d.Explanation, want.Reason, want.Explanation)
		}
	}
}

func TestPrincipal_ARNs(t *testing.T) {
	if got, want := fmt.Sprint(session().ARNs()), fmt.Sprint([]string{sessARN, roleARN}); got != want {
		t.Errorf("ARNs() = %s, want %s", got, want)
	}
	if got := (Principal{Type: PrincipalAnonymous}).ARNs(); len(got) != 0 {
		t.Errorf("anonymous ARNs() = %v, want none", got)
	}
}

func TestContext_Helpers(t *testing.T) {
	var c Context
	c.Add("AWS:UserName", "alice")
	c.Add("aws:TagKeys", "a", "b")
	if got, want := fmt.Sprint(c.Keys()), "[aws:tagkeys aws:username]"; got != want {
		t.Errorf("Keys() = %s, want %s", got, want)
	}
	clone := c.Clone()
	clone.Add("aws:TagKeys", "c")
	if v, _ := c.Get("aws:tagkeys"); len(v) != 2 {
		t.Errorf("Clone shares values with the original: %v", v)
	}
}
