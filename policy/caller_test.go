package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAWSPrincipalAndKeys(t *testing.T) {
	cases := []struct {
		name       string
		arn        string
		equivalent []string
		account    string
		wantEquiv  []string
		keys       map[string]string // every principal key, "" = absent
	}{
		{name: "root", arn: "arn:aws:iam::111122223333:root",
			keys: map[string]string{"aws:PrincipalArn": "arn:aws:iam::111122223333:root", "aws:PrincipalAccount": "111122223333", "aws:PrincipalType": "Account"}},
		{name: "user with path", arn: "arn:aws:iam::111122223333:user/eng/alice",
			keys: map[string]string{"aws:PrincipalArn": "arn:aws:iam::111122223333:user/eng/alice", "aws:PrincipalAccount": "111122223333", "aws:PrincipalType": "User", "aws:username": "alice"}},
		{name: "role session infers its role", arn: "arn:aws:sts::111122223333:assumed-role/Reader/i-0abc",
			wantEquiv: []string{"arn:aws:iam::111122223333:role/Reader"},
			keys:      map[string]string{"aws:PrincipalArn": "arn:aws:iam::111122223333:role/Reader", "aws:PrincipalAccount": "111122223333", "aws:PrincipalType": "AssumedRole"}},
		{name: "role session with the role's path", arn: "arn:aws-cn:sts::111122223333:assumed-role/Reader/s",
			equivalent: []string{"arn:aws-cn:iam::111122223333:role/app/Reader"},
			wantEquiv:  []string{"arn:aws-cn:iam::111122223333:role/app/Reader"},
			keys:       map[string]string{"aws:PrincipalArn": "arn:aws-cn:iam::111122223333:role/app/Reader", "aws:PrincipalAccount": "111122223333", "aws:PrincipalType": "AssumedRole"}},
		{name: "federated user", arn: "arn:aws:sts::111122223333:federated-user/bob",
			equivalent: []string{"arn:aws:iam::111122223333:user/alice"},
			wantEquiv:  []string{"arn:aws:iam::111122223333:user/alice"},
			keys:       map[string]string{"aws:PrincipalArn": "arn:aws:sts::111122223333:federated-user/bob", "aws:PrincipalAccount": "111122223333", "aws:PrincipalType": "FederatedUser"}},
		{name: "account given", arn: "arn:aws:iam::111122223333:root", account: "444455556666",
			keys: map[string]string{"aws:PrincipalArn": "arn:aws:iam::111122223333:root", "aws:PrincipalAccount": "444455556666", "aws:PrincipalType": "Account"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := AWSPrincipal(tc.arn, tc.account, tc.equivalent...)
			if err != nil {
				t.Fatal(err)
			}
			if p.Type != PrincipalAWS || p.ARN != tc.arn || p.Account != tc.account || !cmp.Equal(p.Equivalent, tc.wantEquiv) {
				t.Errorf("AWSPrincipal = %+v, want equivalent %v", p, tc.wantEquiv)
			}
			var c Context
			SetPrincipalKeys(&c, p)
			for _, k := range []string{"aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalType", "aws:username"} {
				got, _ := c.Get(k)
				want := tc.keys[k]
				if want == "" && len(got) > 0 || want != "" && (len(got) != 1 || got[0] != want) {
					t.Errorf("%s = %v, want %q", k, got, want)
				}
			}
		})
	}
	if _, err := AWSPrincipal("alice", ""); err == nil || !strings.Contains(err.Error(), "is not an ARN") {
		t.Errorf("AWSPrincipal(alice) = %v", err)
	}
}

// A key the caller gives wins over the one SetPrincipalKeys would set; a
// service principal gets no AWS principal keys.
func TestSetPrincipalKeys_KeepsGivenKeys(t *testing.T) {
	c, err := ParseContext([]string{"aws:PrincipalType=Custom", "aws:TagKeys=env,team", "aws:TagKeys=owner", "aws:Empty="})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := AWSPrincipal("arn:aws:iam::111122223333:user/alice", "")
	SetPrincipalKeys(&c, p)
	if v, _ := c.Get("aws:PrincipalType"); !cmp.Equal(v, []string{"Custom"}) {
		t.Errorf("aws:PrincipalType = %v, want the given Custom", v)
	}
	if v, _ := c.Get("aws:TagKeys"); !cmp.Equal(v, []string{"env", "team", "owner"}) {
		t.Errorf("aws:TagKeys = %v", v)
	}
	if v, ok := c.Get("aws:Empty"); !ok || len(v) != 0 {
		t.Errorf("aws:Empty = %v, %v; want present with no values", v, ok)
	}
	var svc Context
	SetPrincipalKeys(&svc, Principal{Type: PrincipalService, ARN: "ec2.amazonaws.com"})
	if _, ok := svc.Get("aws:PrincipalArn"); ok {
		t.Error("a service principal got aws:PrincipalArn")
	}
	if _, err := ParseContext([]string{"novalue"}); err == nil || !strings.Contains(err.Error(), "want KEY=VALUE") {
		t.Errorf("ParseContext(novalue) = %v", err)
	}
}

func TestParsePrincipalType(t *testing.T) {
	for s, want := range map[string]PrincipalType{"AWS": PrincipalAWS, "service": PrincipalService, "Federated": PrincipalFederated,
		"canonical": PrincipalCanonicalUser, "CanonicalUser": PrincipalCanonicalUser, "anonymous": PrincipalAnonymous} {
		if got, err := ParsePrincipalType(s); err != nil || got != want {
			t.Errorf("ParsePrincipalType(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParsePrincipalType("robot"); err == nil {
		t.Error("robot: no error")
	}
}
