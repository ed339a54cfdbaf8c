package e2e

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

// servedKeyID reads the access key id the emulator serves right now.
func servedKeyID(t *testing.T, e *emulator) string {
	t.Helper()
	code, _, body := e.do(t, http.MethodGet, "/latest/meta-data/iam/security-credentials/imdsemu-demo", map[string]string{"X-aws-ec2-metadata-token": e.token(t)})
	if code != 200 {
		t.Fatalf("credentials GET = %d", code)
	}
	var doc struct{ AccessKeyId string }
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.AccessKeyId
}

const botoScript = `
import json, boto3
from botocore.utils import IMDSRegionProvider
s = boto3.session.Session()
c = s.get_credentials()
f = c.get_frozen_credentials()
# botocore's own IMDS region lookup asks placement/availability-zone/ (trailing slash).
region = IMDSRegionProvider(s._session).provide()
print(json.dumps({"method": c.method, "key": f.access_key, "has_secret": bool(f.secret_key), "has_token": bool(f.token), "region": region}))
`

// TestBoto3_DefaultChain runs Debian's python3-boto3 with its default chain.
func TestBoto3_DefaultChain(t *testing.T) {
	py := requireTool(t, "/usr/bin/python3")
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		requireTool(t, "/usr/lib/python3/dist-packages/boto3")
	}
	for _, mode := range []string{"optional", "required"} {
		t.Run(mode, func(t *testing.T) {
			e := startEmulator(t, "--http-tokens", mode)
			cmd := exec.Command(py, "-c", botoScript)
			cmd.Env = cleanEnv(t, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+e.endpoint, "AWS_DEFAULT_REGION=", "AWS_REGION=")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("boto3: %v\n%s", err, out)
			}
			var got struct {
				Method, Key, Region string
				HasSecret           bool `json:"has_secret"`
				HasToken            bool `json:"has_token"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("boto3 output %q: %v", out, err)
			}
			if got.Method != "iam-role" {
				t.Errorf("credential method = %q, want iam-role", got.Method)
			}
			if want := servedKeyID(t, e); got.Key != want {
				t.Errorf("boto3 key = %q, want the served %q", got.Key, want)
			}
			if !got.HasSecret || !got.HasToken {
				t.Error("boto3 got no secret or no token")
			}
			if got.Region != "us-east-1" {
				t.Errorf("region = %q, want us-east-1 from IMDS", got.Region)
			}
		})
	}
}

// TestAWSCLI_ExportCredentials runs Debian's awscli against the emulator.
func TestAWSCLI_ExportCredentials(t *testing.T) {
	aws := requireTool(t, "/usr/bin/aws")
	e := startEmulator(t, "--http-tokens", "required")
	cmd := exec.Command(aws, "configure", "export-credentials", "--format", "process")
	cmd.Env = cleanEnv(t, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+e.endpoint)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("aws configure export-credentials: %v", err)
	}
	var got struct {
		Version                                    int
		AccessKeyId, SecretAccessKey, SessionToken string
		Expiration                                 string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("CLI output is not JSON: %v", err)
	}
	if want := servedKeyID(t, e); got.AccessKeyId != want {
		t.Errorf("CLI key = %q, want the served %q", got.AccessKeyId, want)
	}
	if got.SecretAccessKey == "" || got.SessionToken == "" || !strings.HasSuffix(got.Expiration, "Z") && !strings.Contains(got.Expiration, "+00:00") {
		t.Errorf("CLI credentials incomplete: secret %t, token %t, expiration %q", got.SecretAccessKey != "", got.SessionToken != "", got.Expiration)
	}
}
