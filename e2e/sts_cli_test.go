package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSTS_AWSCLI runs Debian's AWS CLI (2.9, botocore 1.29: it ignores
// AWS_ENDPOINT_URL_STS, so every call names --endpoint-url).
func TestSTS_AWSCLI(t *testing.T) {
	awsCLI := requireTool(t, "/usr/bin/aws")
	w := startSTSWorld(t)
	creds := filepath.Join(t.TempDir(), "credentials")
	imdsemu(t, "key", "create", "alice", "--data-dir", w.dataDir, "--credentials-file", creds, "--profile", "demo")
	run := func(t *testing.T, args ...string) (map[string]any, string, error) {
		t.Helper()
		return stsCLI(t, awsCLI, w.sts, []string{"AWS_SHARED_CREDENTIALS_FILE=" + creds, "AWS_PROFILE=demo", "AWS_EC2_METADATA_DISABLED=true"}, args...)
	}
	field := func(doc map[string]any, path ...string) string {
		var v any = doc
		for _, p := range path {
			m, _ := v.(map[string]any)
			v = m[p]
		}
		s, _ := v.(string)
		return s
	}

	doc, stderr, err := run(t, "get-caller-identity")
	if err != nil || field(doc, "Arn") != "arn:aws:iam::123456789012:user/alice" {
		t.Fatalf("get-caller-identity = %v, %v\n%s", doc, err, stderr)
	}
	doc, stderr, err = run(t, "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/app", "--role-session-name", "cli", "--duration-seconds", "1800")
	if err != nil || field(doc, "AssumedRoleUser", "Arn") != "arn:aws:sts::123456789012:assumed-role/app/cli" || !strings.HasPrefix(field(doc, "Credentials", "AccessKeyId"), "ASIA") {
		t.Errorf("assume-role = %v, %v\n%s", doc["AssumedRoleUser"], err, stderr)
	}
	doc, stderr, err = run(t, "get-session-token", "--duration-seconds", "900")
	if err != nil || !strings.HasPrefix(field(doc, "Credentials", "AccessKeyId"), "ASIA") || field(doc, "Credentials", "Expiration") == "" {
		t.Errorf("get-session-token: %v\n%s", err, stderr)
	}
	token := strings.TrimSpace(imdsemu(t, "idp", "token", "--data-dir", w.dataDir, "--issuer", w.sts, "--sub", "repo:demo", "--aud", "sts.amazonaws.com"))
	doc, stderr, err = run(t, "assume-role-with-web-identity", "--role-arn", "arn:aws:iam::123456789012:role/ci", "--role-session-name", "cli-ci", "--web-identity-token", token)
	if err != nil || field(doc, "AssumedRoleUser", "Arn") != "arn:aws:sts::123456789012:assumed-role/ci/cli-ci" || field(doc, "SubjectFromWebIdentityToken") != "repo:demo" {
		t.Errorf("assume-role-with-web-identity = %v, %s, %v\n%s", doc["AssumedRoleUser"], field(doc, "SubjectFromWebIdentityToken"), err, stderr)
	}
	// An error as the CLI shows it: AWS's code and message.
	_, stderr, err = run(t, "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/ci", "--role-session-name", "cli")
	if err == nil || !strings.Contains(stderr, "An error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/ci") {
		t.Errorf("untrusted assume-role: %v\n%s", err, stderr)
	}
}
