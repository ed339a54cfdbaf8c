package policy_test

import (
	"strings"
	"testing"

	"github.com/imdsemu/imdsemu/policy"
)

// IAM User Guide, "Tasks that require root user credentials": an IAM user
// with AdministratorAccess still cannot close the account or change the
// support plan; the root user can, and IAM policies do not restrict it.
func TestEvaluate_RootOnlyTasks(t *testing.T) {
	admin, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`), policy.KindManaged)
	if err != nil {
		t.Fatal(err)
	}
	principal := func(arn string, equivalent ...string) policy.Principal {
		p, err := policy.AWSPrincipal(arn, "", equivalent...)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	user := principal("arn:aws:iam::111122223333:user/admin")
	session := principal("arn:aws:sts::111122223333:assumed-role/Admin/s", "arn:aws:iam::111122223333:role/Admin")
	root := principal("arn:aws:iam::111122223333:root")
	for _, task := range policy.RootTasks() {
		for _, action := range task.Actions {
			for _, p := range []policy.Principal{user, session} {
				req := policy.Request{Principal: p, Action: action, Resource: "*"}
				d := policy.Evaluate(req, policy.Set{Identity: []*policy.Document{admin}})
				if d.Allowed || d.Reason != policy.ImplicitDeny || !strings.Contains(d.Explanation, "only the account root user") || len(d.Matched) != 1 {
					t.Errorf("%s by %s with AdministratorAccess = %+v, want denied as root-only (the Allow still listed)", action, p.ARN, d)
				}
				if msg := d.Message(req); !strings.Contains(msg, "is not authorized to perform: "+action) || !strings.Contains(msg, task.Task) {
					t.Errorf("message %q", msg)
				}
			}
			// Action names are case-insensitive.
			if d := policy.Evaluate(policy.Request{Principal: user, Action: strings.ToUpper(action), Resource: "*"},
				policy.Set{Identity: []*policy.Document{admin}}); d.Allowed {
				t.Errorf("%s in upper case allowed to an IAM user", action)
			}
			if d := policy.Evaluate(policy.Request{Principal: root, Action: action, Resource: "*"}, policy.Set{}); !d.Allowed {
				t.Errorf("%s by the root user = %+v, want allowed", action, d)
			}
		}
	}
	if _, ok := policy.RootOnly("s3:GetObject"); ok {
		t.Error("s3:GetObject is root-only?")
	}
	// Other actions are unaffected.
	if d := policy.Evaluate(policy.Request{Principal: user, Action: "account:GetAccountInformation", Resource: "*"},
		policy.Set{Identity: []*policy.Document{admin}}); !d.Allowed {
		t.Errorf("account:GetAccountInformation = %+v", d)
	}
}
