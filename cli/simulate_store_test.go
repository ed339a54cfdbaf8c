package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/rolestore"
)

// An IAM user with AdministratorAccess is still denied a root-only task
// (IAM User Guide, "Tasks that require root user credentials"), and
// simulate says why; the root user is allowed.
func TestPolicySimulate_RootOnly(t *testing.T) {
	admin := []string{"simulate", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess", "--action", "account:CloseAccount"}
	out, _, code := runPolicy(t, "", append(admin, "--principal", "arn:aws:iam::123456789012:user/admin")...)
	if code != exitNegative || !strings.Contains(out, "decision: implicitDeny") || !strings.Contains(out, "only the account root user can perform account:CloseAccount") ||
		!strings.Contains(out, `Allow identity-based policy "arn:aws:iam::aws:policy/AdministratorAccess"`) {
		t.Errorf("admin user: status %d\n%s", code, out)
	}
	out, _, code = runPolicy(t, "", append(admin, "--principal", "arn:aws:iam::123456789012:root")...)
	if code != exitOK || !strings.Contains(out, "decision: allowed") {
		t.Errorf("root user: status %d\n%s", code, out)
	}
	_, errOut, code := runPolicy(t, "", "simulate", "--policy-arn", "arn:aws:iam::aws:policy/NoSuchPolicy", "--action", "s3:GetObject")
	if code != exitBadInput || !strings.Contains(errOut, "NoSuchPolicy") {
		t.Errorf("unknown AWS managed policy: status %d, %q", code, errOut)
	}
}

// --user evaluates with the user's effective permissions from the store:
// its groups' attached policies and its permissions boundary.
func TestPolicySimulate_User(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := rolestore.OpenSQLite(ctx, filepath.Join(dir, config.DBFile), StoreOptions())
	if err != nil {
		t.Fatal(err)
	}
	const acct = "123456789012"
	for _, step := range []error{
		s.PutAccount(ctx, rolestore.Account{ID: acct}),
		func() error {
			_, err := s.PutGroup(ctx, rolestore.Group{AccountID: acct, Name: "readers", ManagedPolicies: []string{"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}})
			return err
		}(),
		func() error {
			_, err := s.PutUser(ctx, rolestore.User{AccountID: acct, Name: "carol", Groups: []string{"readers"}})
			return err
		}(),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	s.Close()
	sim := func(action string, extra ...string) (string, int) {
		out, errOut, code := runPolicy(t, "", append([]string{"simulate", "--data-dir", dir, "--account", acct, "--user", "carol", "--action", action}, extra...)...)
		return out + errOut, code
	}
	if out, code := sim("s3:GetObject", "--resource", "arn:aws:s3:::bucket/key"); code != exitOK ||
		!strings.Contains(out, "group/readers:arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess") {
		t.Errorf("carol s3:GetObject: status %d\n%s", code, out)
	}
	if out, code := sim("s3:PutObject"); code != exitNegative || !strings.Contains(out, "no identity-based policy allows") {
		t.Errorf("carol s3:PutObject: status %d\n%s", code, out)
	}
	if out, code := sim("s3:GetObject", "--policy-arn", "arn:aws:iam::123456789012:policy/missing"); code != exitBadInput {
		t.Errorf("unknown customer policy: status %d\n%s", code, out)
	}
	if out, code := runPolicy2(t, "simulate", "--data-dir", dir, "--account", acct, "--user", "nobody", "--action", "s3:GetObject"); code != exitBadInput || !strings.Contains(out, "cannot be found") {
		t.Errorf("unknown user: status %d\n%s", code, out)
	}
}

func runPolicy2(t *testing.T, args ...string) (string, int) {
	out, errOut, code := runPolicy(t, "", args...)
	return out + errOut, code
}
