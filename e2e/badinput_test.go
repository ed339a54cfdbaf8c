package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadRequests_ServerKeepsServing sends what a broken client might and
// checks each answer, then that the server still serves credentials.
func TestBadRequests_ServerKeepsServing(t *testing.T) {
	e := startEmulator(t)
	ttl := "X-aws-ec2-metadata-token-ttl-seconds"
	cases := []struct {
		name, method, path string
		header             map[string]string
		want               int
	}{
		{"TTLMissing", http.MethodPut, "/latest/api/token", nil, 400},
		{"TTLZero", http.MethodPut, "/latest/api/token", map[string]string{ttl: "0"}, 400},
		{"TTLTooLarge", http.MethodPut, "/latest/api/token", map[string]string{ttl: "21601"}, 400},
		{"TTLNotNumber", http.MethodPut, "/latest/api/token", map[string]string{ttl: "abc"}, 400},
		{"ForgedToken", http.MethodGet, "/latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": "AQAAAForged.token"}, 401},
		{"PostMetadata", http.MethodPost, "/latest/meta-data/instance-id", nil, 405},
		{"UnknownPath", http.MethodGet, "/latest/meta-data/no-such-thing", nil, 404},
		{"ExtendedPathRole", http.MethodGet, "/latest/meta-data/iam/security-credentials-extended/not-my-role", nil, 404},
		{"OtherRole", http.MethodGet, "/latest/meta-data/iam/security-credentials/not-my-role", nil, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, _ := e.do(t, tc.method, tc.path, tc.header); code != tc.want {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.path, code, tc.want)
			}
		})
	}
	if code, _, body := e.do(t, http.MethodGet, "/latest/meta-data/iam/security-credentials/", nil); code != 200 || body != "imdsemu-demo" {
		t.Errorf("after bad requests: role listing = %d %q, want 200 imdsemu-demo", code, body)
	}
}

// TestBadConfig_RefusesToStart checks that a bad config file stops the
// process before it serves, naming the file, line and field.
func TestBadConfig_RefusesToStart(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"BadRoleName", `
roles:
  - name: "bad name!"
    account: "123456789012"
    trust-policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
instance-profiles:
  - name: p
    account: "123456789012"
    role: "bad name!"
accounts:
  - id: "123456789012"
`, []string{"imdsemu.yaml:3:", "name"}},
		{"DurationOutOfRange", `
accounts:
  - id: "123456789012"
roles:
  - name: web
    account: "123456789012"
    max-session-duration: 13h
    trust-policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
instance-profiles:
  - name: web
    account: "123456789012"
    role: web
`, []string{"imdsemu.yaml:7:", "max-session-duration"}},
		{"TwoRolesOnProfile", `
accounts:
  - id: "123456789012"
roles:
  - name: a
    account: "123456789012"
    trust-policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
  - name: b
    account: "123456789012"
    trust-policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
instance-profiles:
  - name: web
    account: "123456789012"
    roles: [a, b]
`, []string{"imdsemu.yaml:", "roles"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "imdsemu.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(binary, "serve", "--config", path, "--data-dir", filepath.Join(dir, "data"), "--metadata-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0")
			cmd.Env = cleanEnv(t)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("imdsemu started with a bad config:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("error output %q does not mention %q", out, w)
				}
			}
			if strings.Contains(string(out), "ready") {
				t.Error("process printed ready despite the bad config")
			}
		})
	}
}
