package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// iamModelConfig: role "target" trusts the account, so a caller also needs
// an identity-based policy allowing sts:AssumeRole on it (IAM User Guide,
// "Policy evaluation logic"). That policy is a customer managed policy
// attached to the group "operators". dana is an operator; erin is not;
// frank is an operator bounded by IAMReadOnlyAccess, which does not allow
// sts:AssumeRole.
const iamModelConfig = `
accounts:
  - id: "123456789012"
managed-policies:
  - name: AssumeTarget
    path: /ops/
    description: assume the target role
    document: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: sts:AssumeRole, Resource: "arn:aws:iam::123456789012:role/target"}]}
groups:
  - name: operators
    managed-policies: [arn:aws:iam::123456789012:policy/ops/AssumeTarget]
roles:
  - name: imdsemu-demo
  - name: target
    trust-policy:
      Version: 2012-10-17
      Statement:
        - {Effect: Allow, Principal: {AWS: "123456789012"}, Action: sts:AssumeRole}
instance-profiles:
  - name: imdsemu-demo
    role: imdsemu-demo
users:
  - name: dana
    groups: [operators]
  - name: erin
  - name: frank
    groups: [operators]
    permissions-boundary: arn:aws:iam::aws:policy/IAMReadOnlyAccess
`

// TestIAM_GroupsAndManagedPoliciesCLI proves with the AWS CLI that a user's
// effective permissions include its groups' attached managed policies,
// limited by its permissions boundary, and that a change to the store
// reaches the running STS at once: a user created later in the group may
// assume the role on its first request.
func TestIAM_GroupsAndManagedPoliciesCLI(t *testing.T) {
	awsCLI := requireTool(t, "/usr/bin/aws")
	dir := t.TempDir()
	e := startEmulator(t, "--config", writeFile(t, dir, "imdsemu.yaml", iamModelConfig))
	stsURL := e.stsURL(t)
	credsFile := filepath.Join(dir, "credentials")
	assume := func(t *testing.T, user string) (string, error) {
		t.Helper()
		env := []string{"AWS_EC2_METADATA_DISABLED=true", "AWS_SHARED_CREDENTIALS_FILE=" + credsFile, "AWS_PROFILE=" + user}
		_, stderr, err := stsCLI(t, awsCLI, stsURL, env, "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/target", "--role-session-name", user)
		return stderr, err
	}
	for _, user := range []string{"dana", "erin", "frank"} {
		imdsemu(t, "key", "create", user, "--data-dir", e.dataDir, "--credentials-file", credsFile, "--profile", user)
	}
	if stderr, err := assume(t, "dana"); err != nil {
		t.Errorf("dana (operators: AssumeTarget attached to the group): %v\n%s", err, stderr)
	}
	for user, why := range map[string]string{"erin": "in no group", "frank": "bounded by IAMReadOnlyAccess"} {
		if stderr, err := assume(t, user); err == nil || !strings.Contains(stderr, "(AccessDenied)") {
			t.Errorf("%s (%s): %v %s, want AccessDenied", user, why, err, stderr)
		}
	}
	// A user created in the group while serve runs may assume at once.
	imdsemu(t, "user", "create", "gail", "--group", "operators", "--data-dir", e.dataDir)
	imdsemu(t, "key", "create", "gail", "--data-dir", e.dataDir, "--credentials-file", credsFile, "--profile", "gail")
	if stderr, err := assume(t, "gail"); err != nil {
		t.Errorf("gail, created in operators while serving: %v\n%s", err, stderr)
	}
	// imdsemu policy simulate explains frank's denial from the same store.
	out := imdsemuOut(t, "policy", "simulate", "--data-dir", e.dataDir, "--user", "frank", "--action", "sts:AssumeRole",
		"--resource", "arn:aws:iam::123456789012:role/target")
	if !strings.Contains(out, "no permissions boundary allows the sts:AssumeRole action") {
		t.Errorf("policy simulate --user frank:\n%s", out)
	}
}

// imdsemuOut runs imdsemu ARGS and returns its standard output; exit
// status 1 (a denial, for policy simulate) is not a failure.
func imdsemuOut(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = cleanEnv(t)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
		t.Fatalf("imdsemu %s: %v\n%s", args[0], err, stderr.String())
	}
	return string(out)
}
