package policy

import (
	"testing"
)

// bench10 is a 10-statement policy with conditions, typical of a role's
// inline policy; the request below is allowed by the last statements, so
// every statement is examined.
const bench10 = `{"Version":"2012-10-17","Statement":[
 {"Sid":"S1","Effect":"Allow","Action":["ec2:Describe*","ec2:Get*"],"Resource":"*"},
 {"Sid":"S2","Effect":"Allow","Action":"sqs:*","Resource":"arn:aws:sqs:us-east-1:111122223333:orders-*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}},
 {"Sid":"S3","Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:Query"],"Resource":"arn:aws:dynamodb:*:111122223333:table/app-*"},
 {"Sid":"S4","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}},
 {"Sid":"S5","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::corp-data","Condition":{"StringLike":{"s3:prefix":["home/${aws:username}/*"]}}},
 {"Sid":"S6","Effect":"Deny","NotAction":["s3:*","sqs:*","ec2:*","dynamodb:*","kms:*"],"Resource":"*"},
 {"Sid":"S7","Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2014-05-07T23:47:00Z"}}},
 {"Sid":"S8","Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/*","Condition":{"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":["app","tenant"]}}},
 {"Sid":"S9","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24"]}}},
 {"Sid":"S10","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::corp-data/home/${aws:username}/*","Condition":{"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"aws:PrincipalTag/team":["red","blue"]}}}
]}`

func benchRequest() Request {
	var c Context
	c.Set("aws:username", "alice")
	c.Set("aws:PrincipalTag/team", "red")
	c.SetBool("aws:SecureTransport", true)
	c.SetBool("aws:MultiFactorAuthPresent", true)
	c.Set("aws:SourceIp", "10.20.30.40")
	c.Set("aws:TokenIssueTime", "2024-05-01T12:00:00Z")
	c.Set("aws:RequestedRegion", "us-east-1")
	return Request{
		Principal: session(),
		Action:    "s3:GetObject",
		Resource:  "arn:aws:s3:::corp-data/home/alice/report.csv",
		Context:   c,
	}
}

func BenchmarkEvaluate10Statements(b *testing.B) {
	set := Set{Identity: []*Document{mustParseNamed(b, KindInlineRole, "inline:app", bench10)}}
	req := benchRequest()
	if d := Evaluate(req, set); !d.Allowed {
		b.Fatalf("benchmark request not allowed: %s", d.Explanation)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(req, set)
	}
}

func BenchmarkParse10Statements(b *testing.B) {
	data := []byte(bench10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, KindInlineRole); err != nil {
			b.Fatal(err)
		}
	}
}
