package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sessionPolicyConfig: alice may assume "hub", whose own policy lets it
// assume (and tag) "spoke", which trusts it. A session policy on the hub
// session can only narrow that.
const sessionPolicyConfig = `
accounts:
  - id: "123456789012"
roles:
  - name: imdsemu-demo
  - name: hub
    trust-policy:
      Version: 2012-10-17
      Statement:
        - {Effect: Allow, Principal: {AWS: "arn:aws:iam::123456789012:user/alice"}, Action: [sts:AssumeRole, sts:TagSession]}
    policies:
      chain: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: [sts:AssumeRole, sts:TagSession], Resource: "*"}]}
  - name: spoke
    trust-policy:
      Version: 2012-10-17
      Statement:
        - {Effect: Allow, Principal: {AWS: "arn:aws:iam::123456789012:role/hub"}, Action: [sts:AssumeRole, sts:TagSession]}
instance-profiles:
  - name: imdsemu-demo
    role: imdsemu-demo
users:
  - name: alice
    policies:
      sts: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: [sts:AssumeRole, sts:TagSession], Resource: "*"}]}
`

// TestSTS_SessionPolicyCLI proves, with the AWS CLI as the client, that a
// session policy narrows what the session may do: a hub session made with
// --policy (or --policy-arns) that denies or leaves out sts:AssumeRole or
// sts:TagSession is refused the chained call that the same session without
// the policy makes. Turning session-policy evaluation off fails this test.
func TestSTS_SessionPolicyCLI(t *testing.T) {
	awsCLI := requireTool(t, "/usr/bin/aws")
	dir := t.TempDir()
	e := startEmulator(t, "--config", writeFile(t, dir, "imdsemu.yaml", sessionPolicyConfig))
	stsURL := e.stsURL(t)
	credsFile := filepath.Join(dir, "credentials")
	imdsemu(t, "key", "create", "alice", "--data-dir", e.dataDir, "--credentials-file", credsFile, "--profile", "alice")

	cli := func(t *testing.T, env []string, args ...string) (map[string]any, string, error) {
		t.Helper()
		return stsCLI(t, awsCLI, stsURL, append([]string{"AWS_EC2_METADATA_DISABLED=true"}, env...), args...)
	}
	asAlice := []string{"AWS_SHARED_CREDENTIALS_FILE=" + credsFile, "AWS_PROFILE=alice"}
	// hub assumes hub as alice with extra arguments and returns the session
	// as environment variables.
	hub := func(t *testing.T, extra ...string) []string {
		t.Helper()
		doc, stderr, err := cli(t, asAlice, append([]string{"assume-role", "--role-arn", "arn:aws:iam::123456789012:role/hub", "--role-session-name", "hub"}, extra...)...)
		if err != nil {
			t.Fatalf("assume-role hub %v: %v\n%s", extra, err, stderr)
		}
		c, _ := doc["Credentials"].(map[string]any)
		id, _ := c["AccessKeyId"].(string)
		secret, _ := c["SecretAccessKey"].(string)
		token, _ := c["SessionToken"].(string)
		if !strings.HasPrefix(id, "ASIA") || secret == "" || token == "" {
			t.Fatalf("assume-role hub %v: no session credentials", extra)
		}
		return []string{"AWS_ACCESS_KEY_ID=" + id, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_SESSION_TOKEN=" + token}
	}
	// spoke makes the chained call with the hub session: nil, or the CLI's
	// error text.
	spoke := func(t *testing.T, session []string, extra ...string) error {
		t.Helper()
		_, stderr, err := cli(t, session, append([]string{"assume-role", "--role-arn", "arn:aws:iam::123456789012:role/spoke", "--role-session-name", "spoke"}, extra...)...)
		if err != nil {
			return &cliError{stderr}
		}
		return nil
	}
	tags := []string{"--tags", "Key=team,Value=blue"}
	const (
		allowAll    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
		denyAssume  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}]}`
		onlyCaller  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}`
		onlyAssume  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`
		otherTarget = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"arn:aws:iam::123456789012:role/elsewhere"}]}`
	)
	for _, tc := range []struct {
		name      string
		hubArgs   []string
		spokeArgs []string
		deniedFor string // "" when the chained call must succeed
	}{
		{"no session policy", nil, nil, ""},
		{"no session policy, tags", nil, tags, ""},
		{"policy allowing all", []string{"--policy", allowAll}, tags, ""},
		{"policy denying AssumeRole", []string{"--policy", denyAssume}, nil, "sts:AssumeRole"},
		{"policy leaving out AssumeRole", []string{"--policy", onlyCaller}, nil, "sts:AssumeRole"},
		{"policy for another role", []string{"--policy", otherTarget}, nil, "sts:AssumeRole"},
		{"policy leaving out TagSession, no tags", []string{"--policy", onlyAssume}, nil, ""},
		{"policy leaving out TagSession, tags", []string{"--policy", onlyAssume}, tags, "sts:TagSession"},
		{"managed AdministratorAccess", []string{"--policy-arns", "arn=arn:aws:iam::aws:policy/AdministratorAccess"}, tags, ""},
		// Session policies, inline and managed, are one set: an Allow in
		// any counts, and so does a Deny.
		{"managed AdministratorAccess and an inline Deny", []string{"--policy-arns", "arn=arn:aws:iam::aws:policy/AdministratorAccess", "--policy", denyAssume}, nil, "sts:AssumeRole"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := spoke(t, hub(t, tc.hubArgs...), tc.spokeArgs...)
			switch {
			case tc.deniedFor == "" && err != nil:
				t.Errorf("chained assume-role = %v, want success", err)
			case tc.deniedFor != "" && err == nil:
				t.Errorf("chained assume-role succeeded, want AccessDenied for %s", tc.deniedFor)
			case tc.deniedFor != "" && !strings.Contains(err.Error(), "(AccessDenied)") || tc.deniedFor != "" && !strings.Contains(err.Error(), tc.deniedFor):
				t.Errorf("chained assume-role = %v, want AccessDenied naming %s", err, tc.deniedFor)
			}
		})
	}
	// An unknown managed policy is an error, as in AWS: STS answers
	// MalformedPolicyDocument instead of a session that silently lacks it.
	t.Run("unknown managed policy", func(t *testing.T) {
		for _, arn := range []string{"arn:aws:iam::123456789012:policy/no-such-policy", "arn:aws:iam::aws:policy/NoSuchAWSPolicy"} {
			_, stderr, err := cli(t, asAlice, "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/hub", "--role-session-name", "hub",
				"--policy-arns", "arn="+arn)
			if err == nil || !strings.Contains(stderr, "(MalformedPolicyDocument)") || !strings.Contains(stderr, arn) {
				t.Errorf("assume-role --policy-arns %s = %v, %s; want MalformedPolicyDocument naming it", arn, err, strings.TrimSpace(stderr))
			}
		}
	})
}

// cliError is an AWS CLI failure: its stderr.
type cliError struct{ stderr string }

func (e *cliError) Error() string { return strings.TrimSpace(e.stderr) }

// stsCLI runs `aws sts ARGS` against endpoint with env added to the clean
// environment, and returns the JSON it printed, or its stderr and error.
func stsCLI(t *testing.T, awsCLI, endpoint string, env []string, args ...string) (map[string]any, string, error) {
	t.Helper()
	cmd := exec.Command(awsCLI, append(append([]string{"sts"}, args...), "--endpoint-url", endpoint, "--output", "json")...)
	cmd.Env = cleanEnv(t, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, stderr.String(), err
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("aws sts %s printed %d bytes that are not JSON", args[0], len(out)) // never the output: it holds secrets
	}
	return doc, stderr.String(), nil
}
