package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// iamWorld is an emulator for the IAM API tests: account 123456789012 with
// an IAM administrator "admin" (inline iam:* and sts:*), a user "nobody"
// with no policies, a role "app" that EC2 may assume, and the instance's
// profile "web" holding no role yet.
type iamWorld struct {
	e       *emulator
	iam     string // the IAM listener's URL (--iam-addr)
	sts     string
	dataDir string
	awsCLI  string
}

func startIAMWorld(t *testing.T) *iamWorld {
	t.Helper()
	w := &iamWorld{dataDir: t.TempDir(), awsCLI: requireTool(t, "/usr/bin/aws")}
	cfg := `
accounts:
  - id: "123456789012"
roles:
  - name: app
    trust-policy:
      Version: 2012-10-17
      Statement:
        - {Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}
    policies:
      read: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: "iam:Get*", Resource: "*"}]}
instance-profiles:
  - name: web
instance:
  profile: web
users:
  - name: admin
    policies:
      admin: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: ["iam:*", "sts:*"], Resource: "*"}]}
  - name: nobody
`
	path := filepath.Join(w.dataDir, "imdsemu.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	w.e = startEmulator(t, "--config", path, "--data-dir", w.dataDir, "--iam-addr", "127.0.0.1:0")
	w.sts = w.e.stsURL(t)
	for _, line := range strings.Split(w.e.stdout.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "export AWS_ENDPOINT_URL_IAM="); ok {
			w.iam = v
		}
	}
	if w.iam == "" || w.iam == w.sts {
		t.Fatalf("no IAM listener of its own in the output:\n%s", w.e.stdout)
	}
	return w
}

// profile writes a shared credentials file with a new key of user ("" for
// the root user) as profile "default" and returns the environment that
// uses it.
func (w *iamWorld) profile(t *testing.T, user string) []string {
	t.Helper()
	creds := filepath.Join(t.TempDir(), "credentials")
	args := []string{"key", "create", user, "--data-dir", w.dataDir, "--credentials-file", creds, "--profile", "default"}
	if user == "" {
		args = []string{"key", "create", "--root", "--data-dir", w.dataDir, "--credentials-file", creds, "--profile", "default"}
	}
	imdsemu(t, args...)
	return []string{"AWS_SHARED_CREDENTIALS_FILE=" + creds, "AWS_EC2_METADATA_DISABLED=true"}
}

// keyEnv is the environment of a client signing with a key the API made.
func keyEnv(id, secret string) []string {
	return []string{"AWS_ACCESS_KEY_ID=" + id, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_EC2_METADATA_DISABLED=true"}
}

// cli runs `aws SERVICE ARGS --endpoint-url endpoint` (Debian's AWS CLI,
// botocore 1.29: it ignores AWS_ENDPOINT_URL_IAM) with env, and returns the
// JSON it printed (nil for none), or its stderr and error.
func (w *iamWorld) cli(t *testing.T, env []string, endpoint string, args ...string) (map[string]any, string, error) {
	t.Helper()
	cmd := exec.Command(w.awsCLI, append(args, "--endpoint-url", endpoint, "--output", "json")...)
	cmd.Env = cleanEnv(t, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, stderr.String(), &cliError{stderr.String()}
	}
	if len(strings.TrimSpace(string(out))) == 0 {
		return nil, stderr.String(), nil
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("aws %s printed %d bytes that are not JSON", strings.Join(args[:2], " "), len(out)) // never the output: it may hold secrets
	}
	return doc, stderr.String(), nil
}

// iamOK runs an IAM CLI call that must succeed.
func (w *iamWorld) iamOK(t *testing.T, env []string, args ...string) map[string]any {
	t.Helper()
	doc, stderr, err := w.cli(t, env, w.iam, append([]string{"iam"}, args...)...)
	if err != nil {
		t.Fatalf("aws iam %s: %v\n%s", args[0], err, stderr)
	}
	return doc
}

// iamFails runs an IAM CLI call that must fail with the AWS CLI's line
// "An error occurred (CODE) when calling the OP operation: MSG…".
func (w *iamWorld) iamFails(t *testing.T, env []string, want string, args ...string) {
	t.Helper()
	_, stderr, err := w.cli(t, env, w.iam, append([]string{"iam"}, args...)...)
	if err == nil || !strings.Contains(stderr, want) {
		t.Errorf("aws iam %s = %v, want an error containing %q\n%s", args[0], err, want, stderr)
	}
}

// field reads a string at path in a CLI JSON document.
func field(doc map[string]any, path ...string) string {
	var v any = doc
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(x) {
				return ""
			}
			v = x[i]
		}
	}
	s, _ := v.(string)
	return s
}
