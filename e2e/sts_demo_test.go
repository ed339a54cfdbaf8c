package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestSTS_Demo_RoleCredentialDiesStaticKeyLives is the demo: credentials
// the SDK fetched from imdsemu's IMDS sign GetCallerIdentity and get the
// instance's assumed-role ARN; once they expire the same call gets
// ExpiredToken, and after "imdsemu revoke" fresh ones get AccessDenied. A
// static key written to a credentials file by "imdsemu key create" keeps
// working throughout.
func TestSTS_Demo_RoleCredentialDiesStaticKeyLives(t *testing.T) {
	w := startSTSWorld(t, "--session-duration", "20s", "--rotation-interval", "5s")
	ctx := context.Background()

	// Instance credentials through the SDK's default chain (IMDS), with the
	// STS endpoint from AWS_ENDPOINT_URL_STS as a user would set it.
	// sdkConfig empties every other credential source of the process first.
	t.Setenv("AWS_ENDPOINT_URL_STS", w.sts)
	cfg := sdkConfig(t, w.e.endpoint)

	// The static key, as a profile in a credentials file.
	credsFile := filepath.Join(t.TempDir(), "credentials")
	imdsemu(t, "key", "create", "alice", "--data-dir", w.dataDir, "--credentials-file", credsFile, "--profile", "leaked")
	static, err := config.LoadDefaultConfig(ctx, config.WithSharedCredentialsFiles([]string{credsFile}),
		config.WithSharedConfigProfile("leaked"), config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	staticClient := awssts.NewFromConfig(static, func(o *awssts.Options) { o.BaseEndpoint = aws.String(w.sts) })
	staticWorks := func(when string) {
		t.Helper()
		out, err := staticClient.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
		if err != nil || aws.ToString(out.Arn) != "arn:aws:iam::123456789012:user/alice" {
			t.Errorf("%s: static key GetCallerIdentity = %v, %v; want alice, still working", when, out, err)
		}
	}
	staticWorks("at start")

	instance, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pinned := aws.Config{Region: "us-east-1", Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(
		func(context.Context) (aws.Credentials, error) { return instance, nil }))}
	pinned.BaseEndpoint = aws.String(w.sts)
	leaked := awssts.NewFromConfig(pinned, func(o *awssts.Options) { o.Retryer = aws.NopRetryer{} })
	out, err := awssts.NewFromConfig(cfg).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with IMDS credentials = %v", err)
	}
	if got, want := aws.ToString(out.Arn), "arn:aws:sts::123456789012:assumed-role/imdsemu-demo/i-0123456789abcdef0"; got != want {
		t.Errorf("Arn = %q, want %q", got, want)
	}
	if !strings.HasPrefix(aws.ToString(out.UserId), "AROA") || !strings.HasSuffix(aws.ToString(out.UserId), ":i-0123456789abcdef0") {
		t.Errorf("UserId = %q, want AROA…:i-0123456789abcdef0", aws.ToString(out.UserId))
	}

	// The leaked role credential dies at its expiry (20 s).
	code := ""
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		_, err := leaked.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
		if code = apiCode(err); code != "" {
			break
		}
	}
	if code != "ExpiredToken" {
		t.Fatalf("leaked role credentials after expiry: %q, want ExpiredToken", code)
	}
	staticWorks("after the role credentials expired")

	// Fresh instance credentials work, until the role is revoked.
	cache := cfg.Credentials.(*aws.CredentialsCache)
	cache.Invalidate()
	fresh, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	freshClient := w.client(fresh)
	if _, err := freshClient.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("fresh instance credentials = %v", err)
	}
	imdsemu(t, "revoke", "imdsemu-demo", "--data-dir", w.dataDir)
	_, err = freshClient.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("revoked role credentials = %v, want AccessDenied", err)
	}
	staticWorks("after the revocation")

	// Deactivating the static key is the only thing that stops it.
	key := strings.Fields(imdsemu(t, "key", "list", "alice", "--data-dir", w.dataDir))
	imdsemu(t, "key", "deactivate", key[len(key)-3], "--data-dir", w.dataDir)
	if _, err := staticClient.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{}); apiCode(err) != "InvalidClientTokenId" {
		t.Errorf("deactivated static key = %v, want InvalidClientTokenId", err)
	}
}
