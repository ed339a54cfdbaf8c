package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/rolestore"
)

// runStoreCmd executes "imdsemu ARGS..." with the store commands, in-process.
func runStoreCmd(t *testing.T, dataDir string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := &cobra.Command{Use: "imdsemu", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(newStoreCmds(Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string {
		if k == "IMDSEMU_DATA_DIR" {
			return dataDir
		}
		return ""
	}})...)
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestStoreCmds(t *testing.T) {
	dir := t.TempDir()
	out, err := runStoreCmd(t, dir, "user", "create", "alice", "--tag", "team=blue")
	if err != nil {
		t.Fatalf("user create: %v", err)
	}
	if !regexp.MustCompile(`^arn:aws:iam::123456789012:user/alice\tAIDA[A-Z2-7]{17}\n$`).MatchString(out) {
		t.Errorf("user create printed %q", out)
	}
	if _, err := runStoreCmd(t, dir, "user", "create", "alice"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("user create twice = %v, want already exists", err)
	}
	if _, err := runStoreCmd(t, dir, "user", "create", "bad name"); err == nil {
		t.Error("user create with a bad name succeeded")
	}

	out, err = runStoreCmd(t, dir, "key", "create", "alice")
	if err != nil {
		t.Fatalf("key create: %v", err)
	}
	m := regexp.MustCompile(`^AccessKeyId     (AKIA[A-Z2-7]{16})\nSecretAccessKey ([A-Za-z0-9+/]{40})\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("key create printed %d bytes, not AccessKeyId and SecretAccessKey lines", len(out))
	}
	firstKey := m[1]

	creds := filepath.Join(dir, "aws", "credentials")
	if err := os.MkdirAll(filepath.Dir(creds), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(creds, []byte("[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = x\n\n[alice]\naws_access_key_id = OLD\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runStoreCmd(t, dir, "key", "create", "alice", "--credentials-file", creds)
	if err != nil {
		t.Fatalf("key create --credentials-file: %v", err)
	}
	if strings.Contains(out, "SecretAccessKey") {
		t.Error("key create --credentials-file printed the secret")
	}
	data, err := os.ReadFile(creds)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if !strings.Contains(text, "[other]\naws_access_key_id = AKIAOTHER") || strings.Contains(text, "OLD") ||
		!regexp.MustCompile(`\[alice\]\naws_access_key_id = AKIA[A-Z2-7]{16}\naws_secret_access_key = [A-Za-z0-9+/]{40}\n`).MatchString(text) {
		t.Errorf("credentials file: other profile kept %t, old [alice] gone %t, new [alice] well formed %t",
			strings.Contains(text, "[other]\naws_access_key_id = AKIAOTHER"), !strings.Contains(text, "OLD"),
			regexp.MustCompile(`\[alice\]\naws_access_key_id = AKIA[A-Z2-7]{16}\naws_secret_access_key = [A-Za-z0-9+/]{40}\n`).MatchString(text))
	}
	if info, _ := os.Stat(creds); info.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode = %v, want 0600", info.Mode().Perm())
	}
	if _, err := runStoreCmd(t, dir, "key", "create", "alice"); err == nil || !strings.Contains(err.Error(), "already has 2 access keys") {
		t.Errorf("third key = %v, want the IAM limit", err)
	}
	if _, err := runStoreCmd(t, dir, "key", "create"); err == nil {
		t.Error("key create without a user or --root succeeded")
	}
	if out, err := runStoreCmd(t, dir, "key", "create", "--root"); err != nil || !strings.HasPrefix(out, "AccessKeyId     AKIA") {
		t.Errorf("key create --root = %v, or no AccessKeyId line", err)
	}

	if _, err := runStoreCmd(t, dir, "key", "deactivate", firstKey); err != nil {
		t.Fatalf("key deactivate: %v", err)
	}
	out, err = runStoreCmd(t, dir, "key", "list", "alice")
	if err != nil {
		t.Fatalf("key list: %v", err)
	}
	if !strings.Contains(out, firstKey+"  Inactive") || strings.Count(out, "AKIA") != 2 || strings.Contains(out, m[2]) {
		t.Errorf("key list =\n%s", out)
	}
	if _, err := runStoreCmd(t, dir, "key", "deactivate", "AKIANOSUCHKEY"); err == nil {
		t.Error("deactivating an unknown key succeeded")
	}

	out, err = runStoreCmd(t, dir, "mfa", "create", "alice")
	if err != nil {
		t.Fatalf("mfa create: %v", err)
	}
	mm := regexp.MustCompile(`^SerialNumber (arn:aws:iam::123456789012:mfa/alice)\nURI          otpauth://totp/imdsemu:alice@123456789012\?.*secret=`).FindStringSubmatch(out)
	if mm == nil {
		t.Fatalf("mfa create printed no SerialNumber and otpauth URI lines") // the URI holds the seed
	}
	if out, err := runStoreCmd(t, dir, "mfa", "code", mm[1]); err != nil || !regexp.MustCompile(`^\d{6}\n$`).MatchString(out) {
		t.Errorf("mfa code = %q, %v", out, err)
	}

	// revoke needs a role: put one as serve would.
	store, err := rolestore.OpenSQLite(t.Context(), filepath.Join(dir, config.DBFile), rolestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutRole(context.Background(), rolestore.Role{AccountID: config.DefaultAccountID, Name: "web", TrustPolicy: config.EC2TrustPolicy}); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	out, err = runStoreCmd(t, dir, "revoke", "web")
	if err != nil || !strings.HasPrefix(out, "revoked sessions of arn:aws:iam::123456789012:role/web issued before ") {
		t.Fatalf("revoke = %q, %v", out, err)
	}
	at, err := store.RevokedBefore(context.Background(), "arn:aws:iam::123456789012:role/web")
	if err != nil || at.Before(before) {
		t.Errorf("RevokedBefore = %v, %v; want about now", at, err)
	}
	store.Close()
	if _, err := runStoreCmd(t, dir, "revoke", "nope"); err == nil {
		t.Error("revoking an unknown role succeeded")
	}
}
