package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// stsBotoScript exercises the STS API with Debian's boto3 (botocore 1.29):
// a static key from a profile, the instance credentials of the default
// chain, the unsigned web identity call, a presigned URL, and an error.
const stsBotoScript = `
import json, os, sys, urllib.request
import boto3, botocore, botocore.config
from botocore.exceptions import ClientError
url = os.environ["STS"]
out = {}
static = boto3.session.Session(profile_name="demo").client("sts", endpoint_url=url)
out["static"] = static.get_caller_identity()["Arn"]
out["session_token_key"] = static.get_session_token(DurationSeconds=900)["Credentials"]["AccessKeyId"][:4]
ar = static.assume_role(RoleArn="arn:aws:iam::123456789012:role/app", RoleSessionName="boto", DurationSeconds=3600)
c = ar["Credentials"]
role = boto3.client("sts", endpoint_url=url, aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
out["assumed"] = role.get_caller_identity()["Arn"]
out["federated"] = static.get_federation_token(Name="boto-fed")["FederatedUser"]["Arn"]
# As the AWS CLI makes EKS tokens: the model says POST, the URL is a GET.
presigned = static.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
try:
    with urllib.request.urlopen(presigned) as r:
        out["presigned"] = r.status
except urllib.error.HTTPError as e:
    sys.stderr.write(presigned + "\n" + e.read().decode() + "\n")
    out["presigned"] = e.code
web = boto3.client("sts", endpoint_url=url).assume_role_with_web_identity(
    RoleArn="arn:aws:iam::123456789012:role/ci", RoleSessionName="boto-ci", WebIdentityToken=os.environ["TOKEN"])
out["web"] = web["AssumedRoleUser"]["Arn"]
# botocore refuses a one-character session name itself; with its parameter
# validation off the signed request reaches the server, whose error is the
# one under test.
raw = boto3.session.Session(profile_name="demo").client("sts", endpoint_url=url,
    config=botocore.config.Config(parameter_validation=False, retries={"max_attempts": 1}))
try:
    raw.assume_role(RoleArn="arn:aws:iam::123456789012:role/app", RoleSessionName="a")
    out["bad_session_name"] = ["accepted", 200, ""]
except ClientError as e:
    out["bad_session_name"] = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Message"]]
instance = boto3.session.Session().client("sts", endpoint_url=url)  # default chain: IMDS
out["instance"] = instance.get_caller_identity()["Arn"]
print(json.dumps(out))
`

func TestSTS_Boto3(t *testing.T) {
	py := requireTool(t, "/usr/bin/python3")
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		requireTool(t, "/usr/lib/python3/dist-packages/boto3")
	}
	w := startSTSWorld(t)
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	imdsemu(t, "key", "create", "alice", "--data-dir", w.dataDir, "--credentials-file", creds, "--profile", "demo")
	token := strings.TrimSpace(imdsemu(t, "idp", "token", "--data-dir", w.dataDir, "--issuer", w.sts, "--sub", "repo:demo", "--aud", "sts.amazonaws.com"))
	cmd := exec.Command(py, "-c", stsBotoScript)
	cmd.Env = cleanEnv(t, "STS="+w.sts, "TOKEN="+token, "AWS_SHARED_CREDENTIALS_FILE="+creds,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT="+w.e.endpoint)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, stderr.String())
	}
	var got struct {
		Static, Assumed, Federated, Web, Instance string
		SessionTokenKey                           string `json:"session_token_key"`
		Presigned                                 int
		BadSessionName                            []any `json:"bad_session_name"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("boto3 output %q: %v", raw, err)
	}
	want := map[string][2]string{
		"static":    {got.Static, "arn:aws:iam::123456789012:user/alice"},
		"assumed":   {got.Assumed, "arn:aws:sts::123456789012:assumed-role/app/boto"},
		"federated": {got.Federated, "arn:aws:sts::123456789012:federated-user/boto-fed"},
		"web":       {got.Web, "arn:aws:sts::123456789012:assumed-role/ci/boto-ci"},
		"token key": {got.SessionTokenKey, "ASIA"},
	}
	for name, gw := range want {
		if gw[0] != gw[1] {
			t.Errorf("%s = %q, want %q", name, gw[0], gw[1])
		}
	}
	if got.Presigned != 200 {
		t.Errorf("presigned URL = %d, want 200\n%s", got.Presigned, stderr.String())
	}
	if len(got.BadSessionName) != 3 || got.BadSessionName[0] != "ValidationError" || got.BadSessionName[1] != float64(400) ||
		!strings.Contains(fmt.Sprint(got.BadSessionName[2]), "'roleSessionName'") {
		t.Errorf("bad session name from the server = %v, want ValidationError 400 about roleSessionName", got.BadSessionName)
	}
	// The default chain's credentials come from imdsemu's IMDS.
	if want := "arn:aws:sts::123456789012:assumed-role/imdsemu-demo/i-0123456789abcdef0"; got.Instance != want {
		t.Errorf("instance = %q, want %q", got.Instance, want)
	}
}
