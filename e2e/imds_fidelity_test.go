package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// writeFile writes a file in dir and returns its path.
func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const fidelityConfig = `
instance:
  ami-id: ami-0abcdef1234567890
  local-ipv4: 172.31.5.9
  public-ipv4: 203.0.113.7
  mac: 0E:49:61:0F:C3:11
  tags: {Name: web-1, env: prod}
  user-data-file: user-data.sh
`

const userData = "#!/bin/sh\necho hello from user data\n"

// secretRe finds the secret values of a credential document, which test
// output must never show.
var secretRe = regexp.MustCompile(`("(SecretAccessKey|Token)" ?: ?)"[^"]*"`)

func redactSecrets(s string) string { return secretRe.ReplaceAllString(s, `$1"REDACTED"`) }

// TestIMDS_Conformance drives the built binary with plain HTTP and checks
// the status, headers and body of each protocol behaviour.
func TestIMDS_Conformance(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "user-data.sh", userData)
	cfg := writeFile(t, dir, "imdsemu.yaml", fidelityConfig)
	e := startEmulator(t, "--config", cfg, "--instance-metadata-tags")
	tok := e.token(t)
	v2 := map[string]string{"X-aws-ec2-metadata-token": tok}
	ttl := map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "300"}

	cases := []struct {
		name, method, path string
		header             map[string]string
		code               int
		wantHeader         map[string]string // "" value: must be absent
		body               string            // exact, when set
		bodyHas            string
	}{
		{"token PUT with X-Forwarded-For", "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "300", "X-Forwarded-For": "203.0.113.9"}, 403,
			map[string]string{"Content-Length": "0", "Content-Type": "text/plain"}, "\x00", ""},
		{"token PUT to a versioned path", "PUT", "/2021-03-23/api/token", ttl, 403, map[string]string{"Content-Length": "0"}, "\x00", ""},
		{"GET on the token path", "GET", "/latest/api/token", nil, 405, map[string]string{"Allow": "OPTIONS, PUT"}, "\x00", ""},
		{"OPTIONS on the token path", "OPTIONS", "/latest/api/token", nil, 200, map[string]string{"Allow": "OPTIONS, PUT"}, "", ""},
		{"token PUT closes the connection", "PUT", "/latest/api/token", ttl, 200,
			map[string]string{"Connection": "close", "X-Aws-Ec2-Metadata-Token-Ttl-Seconds": "300"}, "", ""},
		{"POST on metadata", "POST", "/latest/meta-data/instance-id", nil, 405, map[string]string{"Allow": "GET, HEAD"}, "\x00", ""},
		{"DELETE on credentials", "DELETE", "/latest/meta-data/iam/security-credentials/imdsemu-demo", nil, 405, map[string]string{"Allow": "GET, HEAD"}, "\x00", ""},
		{"HEAD", "HEAD", "/latest/meta-data/instance-id", v2, 200, map[string]string{"Content-Length": "19"}, "\x00", ""},
		{"token GET carries the remaining TTL", "GET", "/latest/meta-data/instance-id", v2, 200, map[string]string{"X-Aws-Ec2-Metadata-Token-Ttl-Seconds": "300"}, "i-0123456789abcdef0", ""},
		{"tokenless GET carries none", "GET", "/latest/meta-data/instance-id", nil, 200, map[string]string{"X-Aws-Ec2-Metadata-Token-Ttl-Seconds": ""}, "i-0123456789abcdef0", ""},
		{"meta-data listing", "GET", "/latest/meta-data/", v2, 200, nil,
			"ami-id\nami-launch-index\nami-manifest-path\nblock-device-mapping/\nevents/\nhostname\niam/\nidentity-credentials/\ninstance-action\ninstance-id\ninstance-life-cycle\ninstance-type\nlocal-hostname\nlocal-ipv4\nmac\nmetrics/\nnetwork/\nplacement/\nprofile\npublic-hostname\npublic-ipv4\nreservation-id\nsecurity-groups\nservices/\nsystem\ntags/", ""},
		{"ami-id from the config", "GET", "/latest/meta-data/ami-id", v2, 200, nil, "ami-0abcdef1234567890", ""},
		{"hostname from local-ipv4", "GET", "/latest/meta-data/hostname", v2, 200, nil, "ip-172-31-5-9.ec2.internal", ""},
		{"public-ipv4", "GET", "/latest/meta-data/public-ipv4", v2, 200, nil, "203.0.113.7", ""},
		{"public-hostname", "GET", "/latest/meta-data/public-hostname", v2, 200, nil, "ec2-203-0-113-7.compute-1.amazonaws.com", ""},
		{"mac in lower case", "GET", "/latest/meta-data/mac", v2, 200, nil, "0e:49:61:0f:c3:11", ""},
		{"interface", "GET", "/latest/meta-data/network/interfaces/macs/0e:49:61:0f:c3:11/local-ipv4s", v2, 200, nil, "172.31.5.9", ""},
		{"zone id", "GET", "/latest/meta-data/placement/availability-zone-id", v2, 200, nil, "use1-az1", ""},
		{"tag keys", "GET", "/latest/meta-data/tags/instance/", v2, 200, nil, "Name\nenv", ""},
		{"tag value", "GET", "/latest/meta-data/tags/instance/Name", v2, 200, nil, "web-1", ""},
		{"user data", "GET", "/latest/user-data", v2, 200, map[string]string{"Content-Type": "application/octet-stream"}, userData, ""},
		{"extended credentials, on by default", "GET", "/latest/meta-data/iam/security-credentials-extended/imdsemu-demo", v2, 200, nil, "", `"AccountId" : "123456789012"`},
		{"extended listing", "GET", "/latest/meta-data/iam/security-credentials-extended/", v2, 200, nil, "imdsemu-demo", ""},
		{"identity info", "GET", "/latest/meta-data/identity-credentials/ec2/info", v2, 200, nil, "", `"AccountId" : "123456789012"`},
		{"identity document signed", "GET", "/latest/dynamic/instance-identity/", v2, 200, nil, "document\npkcs7\nrsa2048\nsignature", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, strings.TrimSuffix(e.endpoint, "/")+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			b := string(raw)
			if resp.StatusCode != tc.code {
				t.Fatalf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.code)
			}
			if got := resp.Header.Get("Server"); got != "EC2ws" {
				t.Errorf("Server = %q, want EC2ws", got)
			}
			for k, want := range tc.wantHeader {
				got := resp.Header.Get(k)
				if k == "Connection" && resp.Close {
					got = "close" // net/http consumes the header
				}
				if got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			switch {
			case tc.body == "\x00" && b != "":
				t.Errorf("body = %q, want empty", b)
			case tc.body != "" && tc.body != "\x00" && b != tc.body:
				t.Errorf("body = %q, want %q", redactSecrets(b), tc.body)
			case tc.bodyHas != "" && !strings.Contains(b, tc.bodyHas):
				t.Errorf("body = %q, want it to contain %q", redactSecrets(b), tc.bodyHas)
			}
		})
	}

	t.Run("identity credentials are an aws:ec2-instance session", func(t *testing.T) {
		code, _, body := e.do(t, "GET", "/latest/meta-data/identity-credentials/ec2/security-credentials/ec2-instance", v2)
		var doc struct{ Code, AccessKeyId, Token string }
		if code != 200 || json.Unmarshal([]byte(body), &doc) != nil || doc.Code != "Success" {
			t.Fatalf("GET ec2-instance = %d", code)
		}
		s, err := openIssuer(t, e.dataDir).Open(doc.Token)
		if err != nil {
			t.Fatalf("Open(identity token) = %v", err)
		}
		if want := "arn:aws:sts::123456789012:assumed-role/aws:ec2-instance/i-0123456789abcdef0"; s.PrincipalARN != want || s.AccessKeyID != doc.AccessKeyId {
			t.Errorf("identity session principal = %q, want %q", s.PrincipalARN, want)
		}
		if s.RoleARN != "" {
			t.Errorf("identity session role = %q, want none (no permissions)", s.RoleARN)
		}
	})

	t.Run("pkcs7 verifies with openssl against identity.crt", func(t *testing.T) {
		openssl := lookTool(t, "openssl")
		dir := t.TempDir()
		_, _, doc := e.do(t, "GET", "/latest/dynamic/instance-identity/document", v2)
		docFile := writeFile(t, dir, "document", doc)
		for _, name := range []string{"pkcs7", "rsa2048"} {
			_, _, p7 := e.do(t, "GET", "/latest/dynamic/instance-identity/"+name, v2)
			pemFile := writeFile(t, dir, name+".pem", "-----BEGIN PKCS7-----\n"+p7+"\n-----END PKCS7-----\n")
			out, err := exec.Command(openssl, "smime", "-verify", "-binary", "-inform", "PEM", "-in", pemFile,
				"-content", docFile, "-certfile", filepath.Join(e.dataDir, "identity.crt"), "-noverify", "-out", os.DevNull).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Verification successful") {
				t.Errorf("openssl smime -verify %s: %v\n%s", name, err, out)
			}
		}
		// A tampered document does not verify.
		bad := writeFile(t, dir, "tampered", strings.Replace(doc, "i-0123456789abcdef0", "i-0123456789abcdef1", 1))
		_, _, p7 := e.do(t, "GET", "/latest/dynamic/instance-identity/pkcs7", v2)
		pemFile := writeFile(t, dir, "p.pem", "-----BEGIN PKCS7-----\n"+p7+"\n-----END PKCS7-----\n")
		if out, err := exec.Command(openssl, "smime", "-verify", "-binary", "-inform", "PEM", "-in", pemFile,
			"-content", bad, "-certfile", filepath.Join(e.dataDir, "identity.crt"), "-noverify", "-out", os.DevNull).CombinedOutput(); err == nil {
			t.Errorf("a tampered document verified:\n%s", out)
		}
		// The signature form: RSA-SHA256 over the document.
		_, _, sig := e.do(t, "GET", "/latest/dynamic/instance-identity/signature", v2)
		sigFile := filepath.Join(dir, "sig.bin")
		if out, err := exec.Command(openssl, "base64", "-d", "-in", writeFile(t, dir, "sig.b64", sig+"\n"), "-out", sigFile).CombinedOutput(); err != nil {
			t.Fatalf("base64 -d: %v %s", err, out)
		}
		pub, err := exec.Command(openssl, "x509", "-in", filepath.Join(e.dataDir, "identity.crt"), "-pubkey", "-noout").Output()
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", writeFile(t, dir, "pub.pem", string(pub)), "-signature", sigFile, docFile).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Verified OK") {
			t.Errorf("openssl dgst -verify signature: %v %s", err, out)
		}
	})
}

// TestIMDS_ExtendedCredentialsOff: --extended-credentials=false answers 404
// on the extended path, which is what makes newer clients fall back.
func TestIMDS_ExtendedCredentialsOff(t *testing.T) {
	e := startEmulator(t, "--extended-credentials=false")
	for _, p := range []string{
		"/latest/meta-data/iam/security-credentials-extended/",
		"/latest/meta-data/iam/security-credentials-extended/imdsemu-demo",
	} {
		if code, _, _ := e.do(t, "GET", p, nil); code != 404 {
			t.Errorf("GET %s = %d, want 404", p, code)
		}
	}
	if code, _, _ := e.do(t, "GET", "/latest/meta-data/iam/security-credentials/imdsemu-demo", nil); code != 200 {
		t.Errorf("legacy path = %d, want 200", code)
	}
}

// TestIMDS_Throttle: past the per-client burst the emulator answers 429.
func TestIMDS_Throttle(t *testing.T) {
	e := startEmulator(t, "--throttle-rps", "0.1", "--throttle-burst", "2")
	var codes []int
	for range 3 {
		code, _, _ := e.do(t, "GET", "/latest/meta-data/instance-id", nil)
		codes = append(codes, code)
	}
	if fmt.Sprint(codes) != "[200 200 429]" {
		t.Errorf("three quick GETs = %v, want [200 200 429]", codes)
	}

	// boto3 makes one attempt: its token PUT takes the last request a new
	// client may make, the 429 on the next GET is not retried, and it ends
	// with no credentials.
	py := requireTool(t, "/usr/bin/python3")
	e2 := startEmulator(t, "--throttle-rps", "0.01", "--throttle-burst", "1")
	cmd := exec.Command(py, "-c", "import boto3; print(boto3.session.Session().get_credentials())")
	cmd.Env = cleanEnv(t, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+e2.endpoint)
	if out, err := cmd.Output(); err != nil || strings.TrimSpace(string(out)) != "None" {
		t.Errorf("boto3 against a throttled emulator = %q (%v), want None", out, err)
	}
}

const noEC2TrustConfig = `
roles:
  - name: no-ec2
    max-session-duration: 1h
    trust-policy:
      Version: "2012-10-17"
      Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: "sts:AssumeRole"}]
instance-profiles:
  - name: no-ec2
    role: no-ec2
`

// TestIMDS_ErrorDocument: a role whose trust policy does not let EC2 assume
// it gets EC2's 200 error document instead of credentials; the Go SDK
// reports it as an API error and boto3 and the AWS CLI find no credentials.
func TestIMDS_ErrorDocument(t *testing.T) {
	e := startEmulator(t, "--config", writeFile(t, t.TempDir(), "imdsemu.yaml", noEC2TrustConfig))
	if strings.Contains(e.stderr.String(), "serving anyway") {
		t.Errorf("serve waited for a first mint that cannot happen:\n%s", e.stderr)
	}
	code, hdr, body := e.do(t, "GET", "/latest/meta-data/iam/security-credentials/no-ec2", nil)
	var doc map[string]string
	if code != 200 || hdr.Get("Content-Type") != "text/plain" || json.Unmarshal([]byte(body), &doc) != nil {
		t.Fatalf("GET credentials = %d %q", code, redactSecrets(body))
	}
	wantMsg := "EC2 cannot assume the role no-ec2. Please see documentation at http://docs.amazonwebservices.com/IAM/latest/UserGuide/RolesTroubleshooting.html."
	if doc["Code"] != "AssumeRoleUnauthorizedAccess" || doc["Message"] != wantMsg || doc["LastUpdated"] == "" || len(doc) != 3 {
		t.Errorf("error document = %q", redactSecrets(body))
	}
	if !strings.HasPrefix(body, "{\n  \"Code\" : \"AssumeRoleUnauthorizedAccess\",\n  \"Message\" : ") {
		t.Errorf("error document layout = %q", redactSecrets(body))
	}
	if code, _, info := e.do(t, "GET", "/latest/meta-data/iam/info", nil); code != 200 || !strings.Contains(info, "instance-profile/no-ec2") {
		t.Errorf("iam/info = %d %q, want the profile", code, info)
	}

	t.Run("Go SDK", func(t *testing.T) {
		cfg := sdkConfig(t, e.endpoint)
		_, err := cfg.Credentials.Retrieve(context.Background())
		if err == nil || !strings.Contains(err.Error(), "api error AssumeRoleUnauthorizedAccess: "+wantMsg) {
			t.Errorf("Retrieve error = %v, want api error AssumeRoleUnauthorizedAccess: …", err)
		}
	})
	t.Run("boto3", func(t *testing.T) {
		py := requireTool(t, "/usr/bin/python3")
		cmd := exec.Command(py, "-c", "import boto3; print(boto3.session.Session().get_credentials())")
		cmd.Env = cleanEnv(t, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+e.endpoint)
		out, err := cmd.Output()
		if err != nil || strings.TrimSpace(string(out)) != "None" {
			t.Errorf("boto3 get_credentials() = %q (%v), want None", out, err)
		}
	})
	t.Run("AWS CLI", func(t *testing.T) {
		aws := requireTool(t, "/usr/bin/aws")
		// The CLI must have read the error document (not failed for some
		// other reason, such as never reaching the emulator) and found no
		// credentials in it.
		const served = `imdsemu_imds_requests_total{code="200",route="/latest/meta-data/iam/security-credentials/{role}",version="v2"}`
		before := e.metric(t, served)
		cmd := exec.Command(aws, "configure", "export-credentials", "--format", "process")
		cmd.Env = cleanEnv(t, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+e.endpoint)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("aws configure export-credentials succeeded: %s", out)
		}
		if !strings.Contains(string(out), "no credentials found") {
			t.Errorf("aws configure export-credentials = %v, %q; want it to find no credentials", err, out)
		}
		if n := e.metric(t, served) - before; n < 1 {
			t.Errorf("the CLI read the error document %v times, want at least once", n)
		}
	})
}

// ecsEndpoint returns the FULL_URI and token serve printed.
func ecsEndpoint(t *testing.T, e *emulator) (uri, token string) {
	t.Helper()
	for _, line := range strings.Split(e.stdout.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "export AWS_CONTAINER_CREDENTIALS_FULL_URI="); ok {
			uri = v
		}
		if v, ok := strings.CutPrefix(line, "export AWS_CONTAINER_AUTHORIZATION_TOKEN="); ok {
			token = v
		}
	}
	if uri == "" || token == "" {
		t.Fatalf("serve printed no ECS export lines:\n%s", e.stdout)
	}
	return uri, token
}

// containerConfig loads the Go SDK's default chain with only the container
// credentials variables pointing anywhere, and IMDS disabled.
func containerConfig(t *testing.T, uri, token string) aws.Config {
	t.Helper()
	for _, kv := range cleanEnv(t) {
		k, v, _ := strings.Cut(kv, "=")
		if k != "PATH" {
			t.Setenv(k, v)
		}
	}
	for _, k := range credentialVars {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri)
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestECS_ContainerCredentials: the ECS endpoint serves the instance role's
// credentials to the SDKs' container providers.
func TestECS_ContainerCredentials(t *testing.T) {
	e := startEmulator(t, "--ecs-addr", "127.0.0.1:0")
	uri, token := ecsEndpoint(t, e)
	if info, err := os.Stat(filepath.Join(e.dataDir, "ecs-auth.token")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("ecs-auth.token: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	if strings.Contains(e.stderr.String(), token) {
		t.Error("the ECS token appears in the log")
	}
	want := servedKeyID(t, e)

	t.Run("Go SDK default chain", func(t *testing.T) {
		creds, err := containerConfig(t, uri, token).Credentials.Retrieve(context.Background())
		if err != nil {
			t.Fatalf("Retrieve: %v", err)
		}
		if creds.Source != "CredentialsEndpointProvider" || creds.AccessKeyID != want || !creds.CanExpire {
			t.Errorf("Retrieve = %s from %q (expires %t), want %s from CredentialsEndpointProvider", creds.AccessKeyID, creds.Source, creds.CanExpire, want)
		}
	})
	t.Run("Go SDK wrong token", func(t *testing.T) {
		_, err := containerConfig(t, uri, "not-the-token-0123456789").Credentials.Retrieve(context.Background())
		if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") || strings.Contains(err.Error(), token) {
			t.Errorf("Retrieve with a wrong token: %v, want AccessDeniedException", err)
		}
	})
	t.Run("status codes", func(t *testing.T) {
		for _, tc := range []struct {
			name, auth string
			code       int
		}{{"none", "", 401}, {"wrong", "wrong", 403}, {"the printed token", token, 200}} {
			req, _ := http.NewRequest("GET", uri, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Errorf("Authorization %s: %d, want %d", tc.name, resp.StatusCode, tc.code)
			}
		}
		// The metadata listener does not serve ECS paths.
		if code, _, _ := e.do(t, "GET", "/v2/credentials/imdsemu", map[string]string{"Authorization": token}); code != 404 {
			t.Errorf("ECS path on the metadata listener = %d, want 404", code)
		}
	})
	env := []string{"AWS_EC2_METADATA_DISABLED=true", "AWS_CONTAINER_CREDENTIALS_FULL_URI=" + uri, "AWS_CONTAINER_AUTHORIZATION_TOKEN=" + token}
	t.Run("boto3", func(t *testing.T) {
		py := requireTool(t, "/usr/bin/python3")
		cmd := exec.Command(py, "-c", `
import json, boto3
c = boto3.session.Session().get_credentials()
print(json.dumps({"method": c.method, "key": c.get_frozen_credentials().access_key}))`)
		cmd.Env = cleanEnv(t, env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("boto3: %v", err)
		}
		var got struct{ Method, Key string }
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("boto3 output %q: %v", out, err)
		}
		if got.Method != "container-role" || got.Key != want {
			t.Errorf("boto3 = %q %q, want container-role %s", got.Method, got.Key, want)
		}
	})
	t.Run("AWS CLI", func(t *testing.T) {
		aws := requireTool(t, "/usr/bin/aws")
		cmd := exec.Command(aws, "configure", "export-credentials", "--format", "process")
		cmd.Env = cleanEnv(t, env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws configure export-credentials: %v", err)
		}
		var got struct{ AccessKeyId string }
		if err := json.Unmarshal(out, &got); err != nil || got.AccessKeyId != want {
			t.Errorf("CLI key = %q (%v), want %s", got.AccessKeyId, err, want)
		}
	})
}

// TestIMDS_ClientsUseLegacyPath records which credential path each client
// asks for, from the emulator's own request metrics: with the extended
// path on, the Go SDK, boto3 and the AWS CLI still use only the legacy one.
func TestIMDS_ClientsUseLegacyPath(t *testing.T) {
	e := startEmulator(t, "--http-tokens", "required")
	if _, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(context.Background()); err != nil {
		t.Fatalf("Go SDK: %v", err)
	}
	clients := 1 // each asks for the legacy path at least once
	t.Run("boto3", func(t *testing.T) {
		py := requireTool(t, "/usr/bin/python3")
		cmd := exec.Command(py, "-c", "import boto3; assert boto3.session.Session().get_credentials().method == 'iam-role'")
		cmd.Env = cleanEnv(t, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+e.endpoint)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("boto3: %v\n%s", err, out)
		}
		clients++
	})
	t.Run("AWS CLI", func(t *testing.T) {
		aws := requireTool(t, "/usr/bin/aws")
		cmd := exec.Command(aws, "configure", "export-credentials", "--format", "process")
		cmd.Env = cleanEnv(t, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+e.endpoint)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("AWS CLI: %v\n%s", err, out)
		}
		clients++
	})
	resp, err := http.Get(e.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var legacy int
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "imdsemu_imds_requests_total{") {
			continue
		}
		if strings.Contains(line, "security-credentials-extended") {
			t.Errorf("a client asked for the extended path: %s", line)
		}
		if strings.Contains(line, `route="/latest/meta-data/iam/security-credentials/{role}",version="v2"`) {
			fields := strings.Fields(line)
			n, _ := strconv.Atoi(fields[len(fields)-1])
			legacy += n
		}
	}
	if legacy < clients {
		t.Errorf("%d IMDSv2 requests for the legacy credential path from %d clients, want at least one each; metrics:\n%s", legacy, clients, raw)
	}
}
