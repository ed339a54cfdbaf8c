package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/audit"
)

// auditConfig: alice has a wildcard inline policy of her own; the default
// instance has the role imdsemu-demo; any-google-app trusts Google tokens
// of every app; bob has AdministratorAccess attached directly; group devs
// grants s3:*, the managed policy Everything all but IAM.
const auditConfig = `
accounts:
  - id: "123456789012"
roles:
  - name: imdsemu-demo
  - name: any-google-app
    trust-policy:
      Version: 2012-10-17
      Statement:
        - {Effect: Allow, Principal: {Federated: accounts.google.com}, Action: sts:AssumeRoleWithWebIdentity}
instance-profiles:
  - name: imdsemu-demo
    role: imdsemu-demo
users:
  - name: alice
    policies:
      everything: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: "*", Resource: "*"}]}
  - name: bob
    groups: [devs]
    managed-policies: [arn:aws:iam::aws:policy/AdministratorAccess]
groups:
  - name: devs
    policies:
      s3: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: "s3:*", Resource: "*"}]}
managed-policies:
  - name: Everything
    account: "123456789012"
    document: {Version: 2012-10-17, Statement: [{Effect: Allow, NotAction: "iam:*", Resource: "*"}]}
`

// TestAudit_FindsWhatTheServerSaw sets up the bad habits the audit looks
// for, with the real tools: a root access key (imdsemu key create --root),
// alice's long-term key used by the Go SDK from the address the default
// instance serves (which has a role), an IMDSv1 request without a token;
// then reads the findings with imdsemu audit (text and --json) and
// admin.Client.
func TestAudit_FindsWhatTheServerSaw(t *testing.T) {
	dataDir := t.TempDir()
	path := filepath.Join(dataDir, "imdsemu.yaml")
	if err := os.WriteFile(path, []byte(auditConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEmulator(t, "--config", path, "--data-dir", dataDir)
	w := &stsWorld{e: e, sts: e.stsURL(t), dataDir: dataDir}
	rootKey := w.newKey(t, "")
	aliceKey := w.newKey(t, "alice")
	w.newKey(t, "bob") // never used
	imdsemu(t, "mfa", "create", "bob", "--data-dir", dataDir)

	// alice's key signs a request from 127.0.0.1, which the default
	// instance (role imdsemu-demo) serves.
	if arn, err := w.callerARN(t, aliceKey); err != nil || arn != "arn:aws:iam::123456789012:user/alice" {
		t.Fatalf("GetCallerIdentity with alice's key = %q, %v", arn, err)
	}
	// An IMDSv1 call: no token.
	resp, err := http.Get(e.endpoint + "/latest/meta-data/instance-id")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("IMDSv1 GET = %d", resp.StatusCode)
	}

	args := []string{"audit", "--admin-addr", e.admin, "--data-dir", dataDir}
	var rep audit.Report
	if err := json.Unmarshal([]byte(imdsemu(t, append(args, "--json")...)), &rep); err != nil {
		t.Fatalf("imdsemu audit --json: %v", err)
	}
	got := map[string]audit.Finding{}
	for _, f := range rep.Findings {
		got[f.Rule+" "+f.Subject] = f
	}
	for _, want := range []string{
		audit.RuleRootAccessKey + " " + rootKey.AccessKeyID,
		audit.RuleRootNoMFA + " arn:aws:iam::123456789012:root",
		audit.RuleUserNoMFA + " arn:aws:iam::123456789012:user/alice",
		audit.RuleKeyWhereRole + " " + aliceKey.AccessKeyID,
		audit.RuleWildcardGrant + " arn:aws:iam::123456789012:user/alice",
		audit.RuleDirectPolicy + " arn:aws:iam::123456789012:user/alice",
		audit.RuleIMDSv1 + " i-0123456789abcdef0",
		audit.RuleOpenWebIdentity + " arn:aws:iam::123456789012:role/any-google-app",
		audit.RuleAdminOnUser + " arn:aws:iam::123456789012:user/bob",
		audit.RuleDirectPolicy + " arn:aws:iam::123456789012:user/bob",
		audit.RuleWildcardGrant + " arn:aws:iam::123456789012:group/devs",
		audit.RuleWildcardGrant + " arn:aws:iam::123456789012:policy/Everything",
	} {
		f, ok := got[want]
		if !ok {
			t.Errorf("no finding %q in %v", want, keysOf(got))
			continue
		}
		if f.Fix == "" || f.Severity == "" {
			t.Errorf("%q has no fix or severity: %+v", want, f)
		}
	}
	if f := got[audit.RuleKeyWhereRole+" "+aliceKey.AccessKeyID]; !strings.Contains(f.Detail, "imdsemu-demo") {
		t.Errorf("key-where-role detail %q names no role", f.Detail)
	}
	if _, ok := got[audit.RuleKeyUnused+" "+aliceKey.AccessKeyID]; ok {
		t.Error("alice's key, just used, is reported unused")
	}
	if _, ok := got[audit.RuleUserNoMFA+" arn:aws:iam::123456789012:user/bob"]; ok {
		t.Error("bob has an MFA device, yet is reported without one")
	}
	unused := 0
	for _, f := range rep.Findings {
		if f.Rule == audit.RuleKeyUnused {
			unused++
		}
	}
	if unused != 1 { // bob's (the root key has its own, critical, finding)
		t.Errorf("%d unused keys, want 1 (bob's)", unused)
	}
	if rep.Counts[audit.Critical] != 2 || rep.KeyUseSince == nil {
		t.Errorf("counts %v, key use since %v", rep.Counts, rep.KeyUseSince)
	}

	text := imdsemu(t, args...)
	summary := fmt.Sprintf("%d findings: 2 critical, %d high, %d medium, %d low\n", len(rep.Findings), rep.Counts[audit.High], rep.Counts[audit.Medium], rep.Counts[audit.Low])
	if !strings.HasPrefix(text, summary) || !strings.Contains(text, "CRITICAL root-access-key  "+rootKey.AccessKeyID) {
		t.Errorf("imdsemu audit:\n%s", text)
	}
	for _, secret := range []string{rootKey.SecretAccessKey, aliceKey.SecretAccessKey} {
		if strings.Contains(text, secret) {
			t.Error("the audit shows a secret key")
		}
	}

	// The same findings through the typed client.
	c, err := admin.NewClient(e.admin, adminToken(t, dataDir), admin.ClientOptions{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	viaClient, err := c.Audit(context.Background())
	if err != nil || len(viaClient.Findings) != len(rep.Findings) {
		t.Errorf("admin.Client.Audit = %d findings, %v; want %d", len(viaClient.Findings), err, len(rep.Findings))
	}
}

func keysOf(m map[string]audit.Finding) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
