package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
)

// webIDConfig has one role per well-known web identity provider, each
// trusting it by its bare name with the condition key AWS documents for the
// app: accounts.google.com:aud, cognito-identity.amazonaws.com:aud (and
// :amr), graph.facebook.com:app_id, www.amazon.com:app_id. No OIDC
// provider is registered.
const webIDConfig = `
accounts:
  - id: "123456789012"
roles:
  - name: google
    trust-policy:
      Version: 2012-10-17
      Statement:
        - Effect: Allow
          Principal: {Federated: accounts.google.com}
          Action: sts:AssumeRoleWithWebIdentity
          Condition: {StringEquals: {"accounts.google.com:aud": app.apps.googleusercontent.com}}
  - name: cognito
    trust-policy:
      Version: 2012-10-17
      Statement:
        - Effect: Allow
          Principal: {Federated: cognito-identity.amazonaws.com}
          Action: sts:AssumeRoleWithWebIdentity
          Condition:
            StringEquals: {"cognito-identity.amazonaws.com:aud": "us-east-1:11111111-2222-3333-4444-555555555555"}
            "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": authenticated}
  - name: facebook
    trust-policy:
      Version: 2012-10-17
      Statement:
        - Effect: Allow
          Principal: {Federated: graph.facebook.com}
          Action: sts:AssumeRoleWithWebIdentity
          Condition: {StringEquals: {"graph.facebook.com:app_id": "1234567890123"}}
  - name: amazon
    trust-policy:
      Version: 2012-10-17
      Statement:
        - Effect: Allow
          Principal: {Federated: www.amazon.com}
          Action: sts:AssumeRoleWithWebIdentity
          Condition: {StringEquals: {"www.amazon.com:app_id": amzn1.application-oa2-client.demo}}
`

const (
	googleClient = "app.apps.googleusercontent.com"
	cognitoPool  = "us-east-1:11111111-2222-3333-4444-555555555555"
	cognitoID    = "us-east-1:99999999-8888-7777-6666-555555555555"
	facebookApp  = "1234567890123"
	amazonApp    = "amzn1.application-oa2-client.demo"
)

// webIDTokens mints, with the CLI in processes of their own, a good token
// per provider and the bad ones the negative cases present.
func webIDTokens(t *testing.T, dataDir string) map[string]string {
	t.Helper()
	mint := func(args ...string) string {
		return strings.TrimSpace(imdsemu(t, append(append([]string{"idp"}, args...), "--data-dir", dataDir)...))
	}
	return map[string]string{
		"google":           mint("token", "--provider", "google", "--sub", "110169484474386276334", "--aud", googleClient, "--claim", "email=dev@example.com"),
		"cognito":          mint("token", "--provider", "cognito", "--sub", cognitoID, "--aud", cognitoPool, "--claim", `amr=["authenticated","graph.facebook.com"]`),
		"facebook":         mint("access-token", "--provider", "facebook", "--app-id", facebookApp, "--user-id", "10153201984731532"),
		"amazon":           mint("access-token", "--provider", "amazon", "--app-id", amazonApp, "--user-id", "amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A"),
		"google_wrong_aud": mint("token", "--provider", "google", "--sub", "1", "--aud", "evil.apps.googleusercontent.com"),
		"cognito_unauth":   mint("token", "--provider", "cognito", "--sub", cognitoID, "--aud", cognitoPool, "--claim", `amr=["unauthenticated"]`),
		"facebook_wrong":   mint("access-token", "--provider", "facebook", "--app-id", "999", "--user-id", "1"),
		"amazon_wrong":     mint("access-token", "--provider", "amazon", "--app-id", "amzn1.application-oa2-client.other", "--user-id", "amzn1.account.X"),
		"google_expired":   mint("token", "--provider", "google", "--sub", "1", "--aud", googleClient, "--ttl", "-1m"),
		"facebook_expired": mint("access-token", "--provider", "facebook", "--app-id", facebookApp, "--user-id", "1", "--ttl", "-1m"),
	}
}

// startWebIDWorld mints the tokens first, so the keys are made by the CLI
// and serve, started afterwards on the same data directory, reads them.
func startWebIDWorld(t *testing.T) (*emulator, string, map[string]string) {
	t.Helper()
	dataDir := t.TempDir()
	tokens := webIDTokens(t, dataDir)
	path := filepath.Join(dataDir, "imdsemu.yaml")
	if err := os.WriteFile(path, []byte(webIDConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEmulator(t, "--config", path, "--data-dir", dataDir)
	return e, e.stsURL(t), tokens
}

// webIDBotoScript calls assume_role_with_web_identity for every case in
// CASES (role, token name, ProviderId) and prints what came back.
const webIDBotoScript = `
import json, os, sys
import boto3, botocore.config
from botocore.exceptions import ClientError
sts = boto3.client("sts", endpoint_url=os.environ["STS"], config=botocore.config.Config(retries={"max_attempts": 1}))
tokens = json.loads(os.environ["TOKENS"])
out = {}
for name, role, token, provider in json.loads(os.environ["CASES"]):
    kw = dict(RoleArn="arn:aws:iam::123456789012:role/" + role, RoleSessionName="boto-" + role, WebIdentityToken=tokens[token])
    if provider:
        kw["ProviderId"] = provider
    try:
        r = sts.assume_role_with_web_identity(**kw)
        out[name] = {"arn": r["AssumedRoleUser"]["Arn"], "subject": r["SubjectFromWebIdentityToken"],
                     "provider": r["Provider"], "audience": r["Audience"], "key": r["Credentials"]["AccessKeyId"][:4]}
    except ClientError as e:
        out[name] = {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}
print(json.dumps(out))
`

func TestWebID_WellKnownProviders_Boto3(t *testing.T) {
	py := requireTool(t, "/usr/bin/python3")
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		requireTool(t, "/usr/lib/python3/dist-packages/boto3")
	}
	_, stsURL, tokens := startWebIDWorld(t)
	type want struct{ subject, provider, audience, code string }
	cases := []struct {
		name, role, token, providerID string
		want                          want
	}{
		{"google", "google", "google", "", want{"110169484474386276334", "accounts.google.com", googleClient, ""}},
		{"cognito", "cognito", "cognito", "", want{cognitoID, "cognito-identity.amazonaws.com", cognitoPool, ""}},
		{"facebook", "facebook", "facebook", "graph.facebook.com", want{"10153201984731532", "graph.facebook.com", facebookApp, ""}},
		{"amazon", "amazon", "amazon", "www.amazon.com", want{"amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A", "www.amazon.com", amazonApp, ""}},

		{"google wrong aud", "google", "google_wrong_aud", "", want{code: "AccessDenied"}},
		{"cognito unauthenticated", "cognito", "cognito_unauth", "", want{code: "AccessDenied"}},
		{"facebook wrong app_id", "facebook", "facebook_wrong", "graph.facebook.com", want{code: "AccessDenied"}},
		{"amazon wrong app_id", "amazon", "amazon_wrong", "www.amazon.com", want{code: "AccessDenied"}},
		{"google token, facebook role", "facebook", "google", "", want{code: "AccessDenied"}},
		{"facebook token as amazon", "amazon", "facebook", "www.amazon.com", want{code: "InvalidIdentityToken"}},
		{"access token without ProviderId", "facebook", "facebook", "", want{code: "InvalidIdentityToken"}},
		{"google expired", "google", "google_expired", "", want{code: "ExpiredTokenException"}},
		{"facebook expired", "facebook", "facebook_expired", "graph.facebook.com", want{code: "ExpiredTokenException"}},
	}
	rows := make([][4]string, len(cases))
	for i, c := range cases {
		rows[i] = [4]string{c.name, c.role, c.token, c.providerID}
	}
	casesJSON, _ := json.Marshal(rows)
	tokensJSON, _ := json.Marshal(tokens)
	cmd := exec.Command(py, "-c", webIDBotoScript)
	cmd.Env = cleanEnv(t, "STS="+stsURL, "TOKENS="+string(tokensJSON), "CASES="+string(casesJSON), "AWS_EC2_METADATA_DISABLED=true")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, stderr.String())
	}
	var got map[string]struct{ Arn, Subject, Provider, Audience, Key, Code, Message string }
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("boto3 output %q: %v", raw, err)
	}
	for _, c := range cases {
		g := got[c.name]
		if c.want.code != "" {
			if g.Code != c.want.code {
				t.Errorf("%s: %+v, want %s", c.name, g, c.want.code)
			}
			if c.want.code == "AccessDenied" && !strings.HasPrefix(g.Message, "Not authorized to perform sts:AssumeRoleWithWebIdentity") {
				t.Errorf("%s: message %q", c.name, g.Message)
			}
			if strings.Contains(g.Message, tokens[c.token]) {
				t.Errorf("%s: the message contains the token", c.name)
			}
			continue
		}
		wantARN := fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/boto-%s", stsAccount, c.role, c.role)
		if g.Arn != wantARN || g.Subject != c.want.subject || g.Provider != c.want.provider || g.Audience != c.want.audience || g.Key != "ASIA" {
			t.Errorf("%s: %+v, want arn %s subject %s provider %s audience %s", c.name, g, wantARN, c.want.subject, c.want.provider, c.want.audience)
		}
	}
}

// The Go SDK's own web identity provider, configured the way EKS and CI
// systems configure it: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, with
// AWS_ENDPOINT_URL_STS pointing at the emulator. It sends no ProviderId, so
// it takes the ID token providers (Google, Cognito).
func TestWebID_WellKnownProviders_GoSDK(t *testing.T) {
	_, stsURL, tokens := startWebIDWorld(t)
	ctx := context.Background()
	setCleanSDKEnv(t)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_STS", stsURL)
	dir := t.TempDir()
	for _, role := range []string{"google", "cognito"} {
		tokenFile := filepath.Join(dir, role)
		if err := os.WriteFile(tokenFile, []byte(tokens[role]), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
		t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/"+role)
		t.Setenv("AWS_ROLE_SESSION_NAME", "gosdk-"+role)
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			t.Fatalf("%s: Retrieve() = %v", role, err)
		}
		if creds.Source != "WebIdentityCredentials" || !strings.HasPrefix(creds.AccessKeyID, "ASIA") {
			t.Errorf("%s: source %q key %q", role, creds.Source, creds.AccessKeyID)
		}
		out, err := awssts.NewFromConfig(cfg).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("%s: GetCallerIdentity = %v", role, err)
		}
		if want := "arn:aws:sts::123456789012:assumed-role/" + role + "/gosdk-" + role; aws.ToString(out.Arn) != want {
			t.Errorf("%s: Arn = %q, want %q", role, aws.ToString(out.Arn), want)
		}
	}

	// A token the role's conditions do not allow: the SDK surfaces STS's
	// AccessDenied.
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte(tokens["google_wrong_aud"]), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", bad)
	t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/google")
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("wrong aud: Retrieve() = %v, want AccessDenied", err)
	}
}
