package policy

import (
	"bytes"
	"testing"
)

// FuzzParse checks that Parse never panics and that every document it
// accepts re-serialises to a canonical form that parses to the same meaning:
// the same canonical bytes, and the same decision for a fixed request.
func FuzzParse(f *testing.F) {
	for _, tc := range validDocs {
		f.Add([]byte(tc.doc), uint8(tc.kind))
	}
	seeds := []struct {
		kind Kind
		doc  string
	}{
		{KindManaged, `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"arn:aws:s3:::b/${aws:username}/*","Condition":{"StringLike":{"s3:prefix":["${aws:username}/*","${aws:PrincipalTag/team, 'shared'}"]},"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}},{"Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:iam::*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2014-05-07T23:47:00Z"},"NumericGreaterThanEquals":{"s3:max-keys":1e2},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},"BinaryEquals":{"s:k":"YQ=="},"Null":{"aws:username":true}}}]}`},
		{KindResource, `{"Id":"x","Statement":[{"Sid":"any thing","Effect":"Deny","NotPrincipal":{"AWS":["111122223333","arn:aws:iam::111122223333:user/a"],"CanonicalUser":"abc"},"Action":"*"},{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com","Federated":"accounts.google.com"},"Action":"s3:*","Resource":"*"}]}`},
		{KindSession, "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::\\u4e2d\\u0001${$}${*}\"}}"},
		{KindTrust, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/${aws:username}"}}}}`},
		{KindManaged, `{"Statement":{"Effect":"Allow","Effect":"Allow"}}`},
		{KindManaged, `[{"a":`},
	}
	for _, s := range seeds {
		f.Add([]byte(s.doc), uint8(s.kind))
	}
	req := Request{Principal: user(), Action: "s3:GetObject", Resource: "arn:aws:s3:::b/alice/x", Context: ctx("aws:username", "alice", "aws:TagKeys", "a")}
	f.Fuzz(func(t *testing.T, data []byte, k uint8) {
		kind := Kind(int(k) % int(kindCount))
		d, err := Parse(data, kind)
		if err != nil {
			if d != nil {
				t.Fatalf("Parse returned a document and an error")
			}
			return
		}
		canon, err := d.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		d2, err := ParseOptions(canon, Options{Kind: kind, MaxSize: -1})
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\ninput: %q\ncanonical: %s", err, data, canon)
		}
		canon2, _ := d2.MarshalJSON()
		if !bytes.Equal(canon, canon2) {
			t.Fatalf("canonical form is not stable:\n%s\n%s", canon, canon2)
		}
		var set1, set2 Set
		switch kind {
		case KindResource:
			set1.Resource, set2.Resource = []*Document{d}, []*Document{d2}
		case KindTrust:
			set1.Trust, set2.Trust = []*Document{d}, []*Document{d2}
		default:
			set1.Identity, set2.Identity = []*Document{d}, []*Document{d2}
		}
		a, b := Evaluate(req, set1), Evaluate(req, set2)
		if a.Reason != b.Reason || len(a.Matched) != len(b.Matched) {
			t.Fatalf("canonical form decides differently: %v %q vs %v %q", a.Reason, a.Explanation, b.Reason, b.Explanation)
		}
	})
}
