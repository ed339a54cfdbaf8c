package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// federationTokenConfig: alice may federate anyone, list the account's
// users, and read and write the reports bucket; she may not delete from it.
const federationTokenConfig = `
accounts:
  - id: "123456789012"
roles:
  - name: imdsemu-demo
instance-profiles:
  - name: imdsemu-demo
    role: imdsemu-demo
users:
  - name: alice
    policies:
      federate: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: [sts:GetFederationToken, iam:ListUsers], Resource: "*"}]}
      reports: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: [s3:GetObject, s3:PutObject], Resource: "arn:aws:s3:::reports/*"}]}
`

// aliceReports is alice's reports policy as a file for policy simulate.
const aliceReports = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::reports/*"}]}`

// TestSTS_FederationTokenPolicyCLI: what a session from `aws sts
// get-federation-token --policy` may do, as AWS documents it
// (GetFederationToken: "You cannot call any IAM operations using the AWS
// CLI or the AWS API ... You cannot call any STS operations except
// GetCallerIdentity"; its permissions elsewhere are the user's policies
// intersected with the session policies). With the AWS CLI: the session
// answers who it is whatever its policy says (GetCallerIdentity needs no
// permission), every other STS call and an IAM call the user may make are
// refused however much the policy allows, and a malformed policy is refused
// when the token is asked for.
// The intersection itself, for the services a federated user would call
// (none of which imdsemu serves), is shown with `imdsemu policy simulate`
// on the same documents: the session policy narrows the user's
// permissions and cannot widen them.
func TestSTS_FederationTokenPolicyCLI(t *testing.T) {
	awsCLI := requireTool(t, "/usr/bin/aws")
	dir := t.TempDir()
	e := startEmulator(t, "--config", writeFile(t, dir, "imdsemu.yaml", federationTokenConfig))
	stsURL := e.stsURL(t)
	credsFile := dir + "/credentials"
	imdsemu(t, "key", "create", "alice", "--data-dir", e.dataDir, "--credentials-file", credsFile, "--profile", "alice")
	cli := func(t *testing.T, env []string, args ...string) (map[string]any, string, error) {
		t.Helper()
		return stsCLI(t, awsCLI, stsURL, append([]string{"AWS_EC2_METADATA_DISABLED=true"}, env...), args...)
	}
	asAlice := []string{"AWS_SHARED_CREDENTIALS_FILE=" + credsFile, "AWS_PROFILE=alice"}
	const (
		onlyGet  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}]}`
		denyAll  = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`
		allowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	)
	federate := func(t *testing.T, policy string) []string {
		t.Helper()
		doc, stderr, err := cli(t, asAlice, "get-federation-token", "--name", "carol", "--policy", policy)
		if err != nil {
			t.Fatalf("get-federation-token --policy: %v\n%s", err, stderr)
		}
		if u, _ := doc["FederatedUser"].(map[string]any); u["Arn"] != "arn:aws:sts::123456789012:federated-user/carol" {
			t.Fatalf("FederatedUser = %v", doc["FederatedUser"])
		}
		c, _ := doc["Credentials"].(map[string]any)
		id, _ := c["AccessKeyId"].(string)
		secret, _ := c["SecretAccessKey"].(string)
		token, _ := c["SessionToken"].(string)
		if !strings.HasPrefix(id, "ASIA") || secret == "" || token == "" {
			t.Fatalf("get-federation-token: no session credentials")
		}
		return []string{"AWS_ACCESS_KEY_ID=" + id, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_SESSION_TOKEN=" + token}
	}

	// iam list-users (imdsemu's IAM API, on the STS listener): alice may;
	// her federated sessions get IAM's answer to such credentials.
	iam := func(t *testing.T, env []string) (string, error) {
		t.Helper()
		cmd := exec.Command(awsCLI, "iam", "list-users", "--endpoint-url", stsURL, "--output", "json")
		cmd.Env = cleanEnv(t, append([]string{"AWS_EC2_METADATA_DISABLED=true"}, env...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		_, err := cmd.Output()
		return stderr.String(), err
	}
	if stderr, err := iam(t, asAlice); err != nil {
		t.Fatalf("iam list-users as alice: %v\n%s", err, stderr)
	}

	for _, policy := range []string{onlyGet, denyAll, allowAll} {
		session := federate(t, policy)
		// Who am I: allowed to any session, an explicit Deny of * included.
		doc, stderr, err := cli(t, session, "get-caller-identity")
		if err != nil || doc["Arn"] != "arn:aws:sts::123456789012:federated-user/carol" {
			t.Errorf("get-caller-identity with session policy %s: %v %v\n%s", policy, doc["Arn"], err, stderr)
		}
		// No IAM call, whatever the policies allow.
		if stderr, err := iam(t, session); err == nil || !strings.Contains(stderr, "(InvalidClientTokenId)") {
			t.Errorf("iam list-users with session policy %s: %v %s; want InvalidClientTokenId", policy, err, strings.TrimSpace(stderr))
		}
		// Any other STS call: refused, even with a policy allowing *.
		for _, args := range [][]string{
			{"assume-role", "--role-arn", "arn:aws:iam::123456789012:role/imdsemu-demo", "--role-session-name", "chained"},
			{"decode-authorization-message", "--encoded-message", "x"},
			{"get-federation-token", "--name", "dave"},
			{"get-session-token"},
		} {
			_, stderr, err := cli(t, session, args...)
			if err == nil || !strings.Contains(stderr, "(AccessDenied)") {
				t.Errorf("%s with session policy %s: %v %s; want AccessDenied", args[0], policy, err, strings.TrimSpace(stderr))
			}
		}
	}
	// A malformed session policy, or one over 2,048 characters: no token.
	for _, tc := range []struct{ policy, code string }{
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}`, "(MalformedPolicyDocument)"},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":["` + strings.Repeat("arn:aws:s3:::reports/x", 120) + `"]}]}`, "Member must have length less than or equal to 2048"},
	} {
		_, stderr, err := cli(t, asAlice, "get-federation-token", "--name", "carol", "--policy", tc.policy)
		if err == nil || !strings.Contains(stderr, tc.code) {
			t.Errorf("get-federation-token with a bad policy: %v %s; want %s", err, strings.TrimSpace(stderr), tc.code)
		}
	}

	// The intersection, for the services the session would call.
	alice := writeFile(t, dir, "alice.json", aliceReports)
	for _, tc := range []struct {
		session, action string
		allowed         bool
	}{
		{onlyGet, "s3:GetObject", true},
		{onlyGet, "s3:PutObject", false},     // the user may; the session policy leaves it out
		{allowAll, "s3:PutObject", true},     // both allow
		{allowAll, "s3:DeleteObject", false}, // the session policy allows; the user may not
		{denyAll, "s3:GetObject", false},
	} {
		cmd := exec.Command(binary, "policy", "simulate", "--policy", alice, "--session-policy", writeFile(t, dir, "session.json", tc.session),
			"--principal", "arn:aws:sts::123456789012:federated-user/carol", "--action", tc.action, "--resource", "arn:aws:s3:::reports/q1.csv")
		cmd.Env = cleanEnv(t)
		out, err := cmd.Output()
		if code := exitCode(err); tc.allowed && code != 0 || !tc.allowed && code != 1 {
			t.Errorf("policy simulate %s with session policy %s: exit %d (%v), want allowed %v\n%s", tc.action, tc.session, code, err, tc.allowed, out)
		}
	}
}

// exitCode is a command's exit status: 0, its code, or -1 when it did not run.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
