package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/imdsemu/imdsemu/sts"
)

// sdkConfig loads the unmodified aws-sdk-go-v2 default chain with only the
// IMDS endpoint pointing anywhere real: every other source is emptied.
//
// Its IMDS client waits up to 30 s to connect and for an answer's headers,
// not the SDK's 250 ms and 500 ms: under -race on a loaded machine one slow
// answer would otherwise be a retry, and the requests a test counts would
// change. Tests of those timeouts themselves use sdkConfigFastFail.
func sdkConfig(t *testing.T, endpoint string, optFns ...func(*config.LoadOptions) error) aws.Config {
	t.Helper()
	patient := &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: 30 * time.Second,
	}}
	return sdkConfigFastFail(t, endpoint, append([]func(*config.LoadOptions) error{config.WithHTTPClient(patient)}, optFns...)...)
}

// sdkConfigFastFail is sdkConfig with the SDK's own IMDS timeouts (250 ms to
// connect, 500 ms for headers), for the tests that provoke them.
func sdkConfigFastFail(t *testing.T, endpoint string, optFns ...func(*config.LoadOptions) error) aws.Config {
	t.Helper()
	setCleanSDKEnv(t)
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint)
	cfg, err := config.LoadDefaultConfig(context.Background(), optFns...)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// setCleanSDKEnv gives this process cleanEnv's environment (PATH kept) with
// every one of credentialVars empty, for an in-process SDK's default chain.
func setCleanSDKEnv(t *testing.T) {
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
	// A machine's CA bundle is for real endpoints (and needs the SDK's own
	// HTTP client type); the emulator is plain HTTP.
	t.Setenv("AWS_CA_BUNDLE", "")
}

func openIssuer(t *testing.T, dataDir string) *sts.Issuer {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(dataDir, "sealing.key"))
	if err != nil {
		t.Fatal(err)
	}
	iss, err := sts.NewIssuer(sts.IssuerOptions{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func TestGoSDK_DefaultChain(t *testing.T) {
	for _, mode := range []string{"optional", "required"} {
		t.Run(mode, func(t *testing.T) {
			e := startEmulator(t, "--http-tokens", mode)
			cfg := sdkConfig(t, e.endpoint)
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatalf("Retrieve: %v\nstderr:\n%s", err, e.stderr)
			}
			if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || len(creds.AccessKeyID) != 20 {
				t.Errorf("AccessKeyID = %q, want ASIA + 16 chars", creds.AccessKeyID)
			}
			if creds.Source != "EC2RoleProvider" {
				t.Errorf("Source = %q, want EC2RoleProvider (the default chain's IMDS step)", creds.Source)
			}
			if !creds.CanExpire || creds.SessionToken == "" {
				t.Errorf("credentials do not expire or have no token")
			}
			// The credentials are a real session: imdsemu's issuer opens the token.
			s, err := openIssuer(t, e.dataDir).Open(creds.SessionToken)
			if err != nil {
				t.Fatalf("Open(served token) = %v", err)
			}
			if want := "arn:aws:sts::123456789012:assumed-role/imdsemu-demo/i-0123456789abcdef0"; s.PrincipalARN != want {
				t.Errorf("session principal = %q, want %q", s.PrincipalARN, want)
			}
			if s.AccessKeyID != creds.AccessKeyID || s.SecretAccessKey != creds.SecretAccessKey {
				t.Error("sealed session does not match the served keys")
			}
			// The mode is really enforced: a token-less GET is IMDSv1.
			code, _, _ := e.do(t, http.MethodGet, "/latest/meta-data/iam/security-credentials/", nil)
			if want := map[string]int{"optional": 200, "required": 401}[mode]; code != want {
				t.Errorf("token-less GET in %s mode = %d, want %d", mode, code, want)
			}
		})
	}
}

// TestGoSDK_PicksUpRotation shortens the rotation period and shows the SDK
// moving to newer generations while the previous ones stay valid.
func TestGoSDK_PicksUpRotation(t *testing.T) {
	e := startEmulator(t, "--rotation-interval", "3s", "--session-duration", "20s")
	cfg := sdkConfig(t, e.endpoint)
	ctx := context.Background()
	iss := openIssuer(t, e.dataDir)
	first, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The SDK's cache refreshes EC2 role credentials at their Expiration (it
	// applies no expiry window to credentials with under 15 minutes left), and
	// then gets the newest generation, issued at most 3 s before.
	next := first
	for deadline := time.Now().Add(60 * time.Second); next.AccessKeyID == first.AccessKeyID && time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if next, err = cfg.Credentials.Retrieve(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if next.AccessKeyID == first.AccessKeyID {
		t.Fatal("the SDK never refreshed to a new generation")
	}
	cur, err := iss.Open(next.SessionToken)
	if err != nil {
		t.Fatalf("refreshed credentials: Open = %v", err)
	}
	if got := cur.Expires.Sub(cur.IssuedAt); got != 20*time.Second {
		t.Errorf("session lifetime = %v, want --session-duration 20s", got)
	}
	if old, _ := iss.Open(first.SessionToken); !cur.IssuedAt.After(old.IssuedAt) {
		t.Errorf("refreshed generation issued %v, not after the first (%v)", cur.IssuedAt, old.IssuedAt)
	}

	// Once the server rotates again, a client that refreshes early (here by
	// invalidating its cache) moves on while the generation it held is
	// still valid: rotation never cuts off credentials in use.
	cache, ok := cfg.Credentials.(*aws.CredentialsCache)
	if !ok {
		t.Fatalf("cfg.Credentials is %T, want *aws.CredentialsCache", cfg.Credentials)
	}
	newer := next
	for deadline := time.Now().Add(30 * time.Second); newer.AccessKeyID == next.AccessKeyID && time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		cache.Invalidate()
		if newer, err = cfg.Credentials.Retrieve(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if newer.AccessKeyID == next.AccessKeyID {
		t.Fatal("no newer generation after a rotation interval")
	}
	if _, err := iss.Open(next.SessionToken); err != nil {
		t.Errorf("superseded generation: Open = %v, want still valid until its expiry", err)
	}
}

// TestGoSDK_RestartKeepsSessionsValid shows the sealing and token keys
// surviving a restart: credentials fetched before still open afterwards.
func TestGoSDK_RestartKeepsSessionsValid(t *testing.T) {
	e := startEmulator(t)
	tok := e.token(t)
	code, _, body := e.do(t, http.MethodGet, "/latest/meta-data/iam/security-credentials/imdsemu-demo", map[string]string{"X-aws-ec2-metadata-token": tok})
	if code != 200 {
		t.Fatalf("credentials GET = %d", code)
	}
	e.stop(t)
	e2 := startEmulator(t, "--data-dir", e.dataDir)
	code, _, _ = e2.do(t, http.MethodGet, "/latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": tok})
	if code != 200 {
		t.Errorf("IMDSv2 token from before the restart: GET = %d, want 200", code)
	}
	var doc struct{ Token string }
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.Token == "" {
		t.Fatalf("credential document: %v", err)
	}
	if _, err := openIssuer(t, e.dataDir).Open(doc.Token); err != nil && !errors.Is(err, sts.ErrExpired) {
		t.Errorf("session from before the restart: Open = %v", err)
	}
}
