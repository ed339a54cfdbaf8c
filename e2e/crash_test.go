package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	_ "modernc.org/sqlite"
)

// kill ends the emulator with SIGKILL: no shutdown code runs.
func (e *emulator) kill(t *testing.T) {
	t.Helper()
	e.stopOnce.Do(func() {
		if err := e.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-e.done
	})
}

// callerARN asks the emulator's STS who creds belong to, with the real SDK.
func (e *emulator) callerARN(t *testing.T, creds aws.Credentials) (string, error) {
	t.Helper()
	client := awssts.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.StaticCredentialsProvider{Value: creds}}, func(o *awssts.Options) {
		o.BaseEndpoint = aws.String(e.stsURL(t))
		o.Retryer = aws.NopRetryer{}
	})
	out, err := client.GetCallerIdentity(context.Background(), &awssts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Arn), nil
}

// TestCrash_KillLosesNothing kills the server with SIGKILL, then kills CLI
// writers at arbitrary points of their transactions, and checks that the
// store is intact, that every entity is whole or absent, and that
// credentials handed out before the crash still verify after a restart.
func TestCrash_KillLosesNothing(t *testing.T) {
	e := startEmulator(t)
	dir := e.dataDir

	code, _, body := e.do(t, http.MethodGet, "/latest/meta-data/iam/security-credentials/imdsemu-demo", nil)
	if code != 200 {
		t.Fatalf("credentials GET = %d", code)
	}
	var doc struct{ AccessKeyId, SecretAccessKey, Token string }
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	role := aws.Credentials{AccessKeyID: doc.AccessKeyId, SecretAccessKey: doc.SecretAccessKey, SessionToken: doc.Token}

	imdsemu(t, "user", "create", "alice", "--data-dir", dir)
	var key aws.Credentials
	for _, line := range strings.Split(imdsemu(t, "key", "create", "alice", "--data-dir", dir), "\n") {
		if v, ok := strings.CutPrefix(line, "AccessKeyId"); ok {
			key.AccessKeyID = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "SecretAccessKey"); ok {
			key.SecretAccessKey = strings.TrimSpace(v)
		}
	}
	if key.AccessKeyID == "" || key.SecretAccessKey == "" {
		t.Fatal("key create printed no key")
	}

	e.kill(t)

	// Writers killed mid-flight: each `user create` is a transaction that
	// either committed or left nothing.
	for i := range 20 {
		cmd := exec.Command(binary, "user", "create", fmt.Sprintf("bob%d", i), "--data-dir", dir)
		cmd.Env = cleanEnv(t)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i*3) * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}

	db, err := sql.Open("sqlite", filepath.Join(dir, "imdsemu.db"))
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	db.Close()

	e2 := startEmulator(t, "--data-dir", dir)
	users := imdsemu(t, "user", "list", "--data-dir", dir)
	if !strings.Contains(users, "alice") {
		t.Errorf("user list after the crash lacks alice:\n%s", users)
	}
	// Every user listed (first column) must be whole: a key can be made for it.
	for _, line := range strings.Split(users, "\n")[1:] {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "bob") {
			imdsemu(t, "key", "create", f[0], "--data-dir", dir)
		}
	}

	if arn, err := e2.callerARN(t, role); err != nil || !strings.HasSuffix(arn, ":assumed-role/imdsemu-demo/i-0123456789abcdef0") {
		t.Errorf("role credentials from before the crash: GetCallerIdentity = %q, %v", arn, err)
	}
	if arn, err := e2.callerARN(t, key); err != nil || arn != "arn:aws:iam::123456789012:user/alice" {
		t.Errorf("alice's key from before the crash: GetCallerIdentity = %q, %v", arn, err)
	}
}
