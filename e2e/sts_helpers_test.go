package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
)

const stsAccount = "123456789012"

// stsURL is the STS endpoint the emulator printed (export AWS_ENDPOINT_URL_STS=…).
func (e *emulator) stsURL(t *testing.T) string {
	t.Helper()
	for _, line := range strings.Split(e.stdout.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "export AWS_ENDPOINT_URL_STS="); ok {
			return v
		}
	}
	t.Fatalf("no AWS_ENDPOINT_URL_STS line in the output:\n%s", e.stdout)
	return ""
}

// imdsemu runs a store or idp command of the binary and returns its stdout.
func imdsemu(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = cleanEnv(t)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("imdsemu %s: %v\n%s", args[0], err, stderr)
	}
	return string(out)
}

// freeLoopbackAddr returns a loopback address that was free a moment ago:
// the STS address must be known before start, because the OIDC provider
// registered in the config file is the STS listener's URL. It is on a
// random address of 127.0.0.0/8 rather than 127.0.0.1, where every other
// test binds port 0, so that no other test can take the freed port before
// imdsemu binds it.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ip := netip.AddrFrom4([4]byte{127, byte(1 + rand.IntN(254)), byte(rand.IntN(256)), byte(1 + rand.IntN(254))})
	ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// stsWorld is an emulator with users, roles and identity providers for the
// STS tests: alice (may assume "app", federate and decode messages), role
// "app" trusting alice, role "ci" trusting the built-in OIDC IdP, role
// "sso" trusting the SAML provider "corp" (whose keys are in idpDir).
type stsWorld struct {
	e       *emulator
	sts     string // http://127.A.B.C:PORT (freeLoopbackAddr)
	dataDir string
	idpDir  string // the SAML IdP's keys (a separate data dir)
}

func startSTSWorld(t *testing.T, extra ...string) *stsWorld {
	t.Helper()
	w := &stsWorld{dataDir: t.TempDir(), idpDir: t.TempDir()}
	w.sts = "http://" + freeLoopbackAddr(t)
	meta := filepath.Join(w.idpDir, "metadata.xml")
	if err := os.WriteFile(meta, []byte(imdsemu(t, "idp", "saml-metadata", "--data-dir", w.idpDir)), 0o600); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(w.sts, "http://")
	cfg := fmt.Sprintf(`
accounts:
  - id: "123456789012"
roles:
  - name: imdsemu-demo
    policies:
      chain: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: "sts:*", Resource: "*"}]}
  - name: app
    max-session-duration: 2h
    trust-policy:
      Version: 2012-10-17
      Statement:
        - Effect: Allow
          Principal: {AWS: "arn:aws:iam::123456789012:user/alice"}
          Action: [sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity]
  - name: ci
    trust-policy:
      Version: 2012-10-17
      Statement:
        - Effect: Allow
          Principal: {Federated: "arn:aws:iam::123456789012:oidc-provider/%[1]s"}
          Action: sts:AssumeRoleWithWebIdentity
          Condition: {StringEquals: {"%[1]s:aud": sts.amazonaws.com, "%[1]s:sub": repo:demo}}
  - name: sso
    trust-policy:
      Version: 2012-10-17
      Statement:
        - Effect: Allow
          Principal: {Federated: "arn:aws:iam::123456789012:saml-provider/corp"}
          Action: sts:AssumeRoleWithSAML
instance-profiles:
  - name: imdsemu-demo
    role: imdsemu-demo
users:
  - name: alice
    policies:
      sts: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: [sts:AssumeRole, sts:GetFederationToken, sts:DecodeAuthorizationMessage], Resource: "*"}]}
  - name: bob
oidc-providers:
  - url: %[2]s
    client-ids: [sts.amazonaws.com]
saml-providers:
  - name: corp
    metadata-file: %[3]s
`, host, w.sts, meta)
	path := filepath.Join(w.dataDir, "imdsemu.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--config", path, "--data-dir", w.dataDir, "--sts-addr", host}, extra...)
	w.e = startEmulator(t, args...)
	if got := w.e.stsURL(t); got != w.sts {
		t.Fatalf("STS on %s, want %s", got, w.sts)
	}
	return w
}

// newKey creates a long-term key for user and returns it.
func (w *stsWorld) newKey(t *testing.T, user string) aws.Credentials {
	t.Helper()
	args := []string{"key", "create", user, "--data-dir", w.dataDir}
	if user == "" {
		args = []string{"key", "create", "--root", "--data-dir", w.dataDir}
	}
	var id, secret string
	for _, line := range strings.Split(imdsemu(t, args...), "\n") {
		if v, ok := strings.CutPrefix(line, "AccessKeyId"); ok {
			id = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "SecretAccessKey"); ok {
			secret = strings.TrimSpace(v)
		}
	}
	if id == "" || secret == "" {
		t.Fatal("key create printed no key")
	}
	return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
}

// client is aws-sdk-go-v2's STS client signing with creds, sent to the
// emulator's STS endpoint.
func (w *stsWorld) client(creds aws.Credentials) *awssts.Client {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.StaticCredentialsProvider{Value: creds}}
	if creds.AccessKeyID == "" {
		cfg.Credentials = aws.AnonymousCredentials{}
	}
	return awssts.NewFromConfig(cfg, func(o *awssts.Options) {
		o.BaseEndpoint = aws.String(w.sts)
		o.Retryer = aws.NopRetryer{}
	})
}

// sessionOf turns STS result credentials into aws.Credentials.
func sessionOf(id, secret, token *string) aws.Credentials {
	return aws.Credentials{AccessKeyID: aws.ToString(id), SecretAccessKey: aws.ToString(secret), SessionToken: aws.ToString(token)}
}

// callerARN asks who creds belong to.
func (w *stsWorld) callerARN(t *testing.T, creds aws.Credentials) (string, error) {
	t.Helper()
	out, err := w.client(creds).GetCallerIdentity(context.Background(), &awssts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Arn), nil
}
