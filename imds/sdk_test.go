package imds_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	sdkimds "github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsemu/imdsemu/imds"
)

// These tests drive the server with the real aws-sdk-go-v2 clients over
// loopback (httptest binds 127.0.0.1). Nothing here goes near
// 169.254.169.254: every client gets an explicit Endpoint and is enabled
// explicitly, so AWS_EC2_METADATA_* in the environment cannot redirect it.

// sdkServer serves f through a trace on 127.0.0.1 and returns an SDK client
// for it. fallback=false makes the client refuse IMDSv1 (the SDK's
// EnableFallback), so it must use a token.
func sdkServer(t *testing.T, h http.Handler, fallback bool) (*sdkimds.Client, *trace) {
	t.Helper()
	tr := &trace{}
	ts := httptest.NewServer(tr.wrap(h))
	t.Cleanup(ts.Close)
	fb := aws.TrueTernary
	if !fallback {
		fb = aws.FalseTernary
	}
	c := sdkimds.New(sdkimds.Options{
		Endpoint:          ts.URL,
		ClientEnableState: sdkimds.ClientEnabled,
		EnableFallback:    fb,
	})
	return c, tr
}

func TestSDK_IMDSClient(t *testing.T) {
	for _, mode := range []imds.Mode{imds.ModeOptional, imds.ModeRequired} {
		for _, fallback := range []bool{true, false} {
			t.Run(string(mode)+map[bool]string{true: "/fallback", false: "/no-fallback"}[fallback], func(t *testing.T) {
				f := newFixture(t, func(o *imds.Options) { o.HTTPTokens = mode })
				c, tr := sdkServer(t, f.srv, fallback)
				ctx := context.Background()

				for path, want := range map[string]string{
					"instance-id":                  "i-0123456789abcdef0",
					"placement/availability-zone/": "us-east-1a", // the SDK keeps the trailing slash
					"iam/security-credentials/":    testRole,
					"":                             wantMetaData,
				} {
					out, err := c.GetMetadata(ctx, &sdkimds.GetMetadataInput{Path: path})
					if err != nil {
						t.Fatalf("GetMetadata(%q): %v", path, err)
					}
					b, err := io.ReadAll(out.Content)
					out.Content.Close()
					if err != nil {
						t.Fatal(err)
					}
					if string(b) != want {
						t.Errorf("GetMetadata(%q) = %q, want %q", path, b, want)
					}
				}

				region, err := c.GetRegion(ctx, nil)
				if err != nil {
					t.Fatalf("GetRegion: %v", err)
				}
				if region.Region != "us-east-1" {
					t.Errorf("GetRegion = %q, want us-east-1", region.Region)
				}

				info, err := c.GetIAMInfo(ctx, nil)
				if err != nil {
					t.Fatalf("GetIAMInfo: %v", err)
				}
				wantInfo := sdkimds.IAMInfo{
					Code:               "Success",
					LastUpdated:        t0.Add(-10 * time.Minute),
					InstanceProfileArn: "arn:aws:iam::123456789012:instance-profile/web",
					InstanceProfileID:  "AIPAEXAMPLE000000001",
				}
				if diff := cmp.Diff(wantInfo, info.IAMInfo); diff != "" {
					t.Errorf("GetIAMInfo (-want +got):\n%s", diff)
				}

				doc, err := c.GetInstanceIdentityDocument(ctx, nil)
				if err != nil {
					t.Fatalf("GetInstanceIdentityDocument: %v", err)
				}
				wantDoc := sdkimds.InstanceIdentityDocument{
					AvailabilityZone: "us-east-1a",
					PrivateIP:        "10.0.0.1",
					Version:          "2017-09-30",
					Region:           "us-east-1",
					InstanceID:       "i-0123456789abcdef0",
					InstanceType:     "t3.micro",
					AccountID:        "123456789012",
					PendingTime:      t0,
					ImageID:          "ami-0123456789abcdef0",
					Architecture:     "x86_64",
				}
				if diff := cmp.Diff(wantDoc, doc.InstanceIdentityDocument); diff != "" {
					t.Errorf("GetInstanceIdentityDocument (-want +got):\n%s", diff)
				}

				// The SDK fetched one token (TTL 300) and sent it on every GET.
				reqs := tr.requests()
				if len(reqs) == 0 || reqs[0].Method != "PUT" || reqs[0].Path != "/latest/api/token" || reqs[0].TTL != "300" {
					t.Fatalf("first request = %+v, want PUT /latest/api/token with TTL 300; trace:\n%s", reqs, tr)
				}
				for _, r := range reqs[1:] {
					if r.Method != "GET" || !r.Token {
						t.Errorf("request %s %s token=%t, want GET with a token; trace:\n%s", r.Method, r.Path, r.Token, tr)
					}
				}
			})
		}
	}
}

func TestSDK_EC2RoleCreds(t *testing.T) {
	for _, mode := range []imds.Mode{imds.ModeOptional, imds.ModeRequired} {
		for _, fallback := range []bool{true, false} {
			t.Run(string(mode)+map[bool]string{true: "/fallback", false: "/no-fallback"}[fallback], func(t *testing.T) {
				f := newFixture(t, func(o *imds.Options) { o.HTTPTokens = mode })
				c, tr := sdkServer(t, f.srv, fallback)
				p := ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = c })
				creds, err := p.Retrieve(context.Background())
				if err != nil {
					t.Fatalf("Retrieve: %v\ntrace:\n%s", err, tr)
				}
				if creds.AccessKeyID != testAccessKeyID || creds.SecretAccessKey != testSecretAccessKey || creds.SessionToken != testSessionToken {
					t.Errorf("Retrieve = key %q (secret and token not shown), want the test credentials", creds.AccessKeyID)
				}
				if !creds.CanExpire || creds.Source != ec2rolecreds.ProviderName {
					t.Errorf("Retrieve CanExpire=%t Source=%q, want true %q", creds.CanExpire, creds.Source, ec2rolecreds.ProviderName)
				}
				// Expires is min(Expiration, the SDK's wall clock + 1h), so
				// it can be no later than what was served.
				if creds.Expires.After(t0.Add(6 * time.Hour)) {
					t.Errorf("Expires = %v, after the served Expiration %v", creds.Expires, t0.Add(6*time.Hour))
				}
				want := []traced{
					{Method: "PUT", Path: "/latest/api/token", TTL: "300"},
					{Method: "GET", Path: "/latest/meta-data/iam/security-credentials/", Token: true},
					{Method: "GET", Path: "/latest/meta-data/iam/security-credentials/" + testRole, Token: true},
				}
				if diff := cmp.Diff(want, tr.requests()); diff != "" {
					t.Errorf("requests (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestSDK_NoRole: with no role attached the Go provider fails on the 404
// (it does not retry 404) instead of hanging or getting bad credentials.
func TestSDK_NoRole(t *testing.T) {
	f := newFixture(t, nil)
	f.src.set(nil)
	c, _ := sdkServer(t, f.srv, true)
	_, err := ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = c }).Retrieve(context.Background())
	if err == nil {
		t.Fatal("Retrieve with no role attached = nil error, want an error")
	}
}

// TestSDK_TokenSurvivesRestart: tokens are stateless, so a client's cached
// token still works after the server is replaced by one with the same key.
func TestSDK_TokenSurvivesRestart(t *testing.T) {
	f := newFixture(t, func(o *imds.Options) { o.HTTPTokens = imds.ModeRequired })
	var current atomic.Pointer[imds.Server]
	current.Store(f.srv)
	c, tr := sdkServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		current.Load().ServeHTTP(w, r)
	}), false)
	get := func() {
		t.Helper()
		out, err := c.GetMetadata(context.Background(), &sdkimds.GetMetadataInput{Path: "instance-id"})
		if err != nil {
			t.Fatalf("GetMetadata: %v\ntrace:\n%s", err, tr)
		}
		out.Content.Close()
	}
	get()
	restarted := newFixture(t, func(o *imds.Options) { o.HTTPTokens = imds.ModeRequired })
	current.Store(restarted.srv)
	get()
	puts := 0
	for _, r := range tr.requests() {
		if r.Method == "PUT" {
			puts++
		}
	}
	if puts != 1 {
		t.Errorf("token PUTs = %d, want 1 (the old token still valid after restart); trace:\n%s", puts, tr)
	}
}

// TestSDK_ErrorDocument: a 200 error document makes ec2rolecreds fail with
// the document's Code and Message as the API error.
func TestSDK_ErrorDocument(t *testing.T) {
	f := newFixture(t, nil)
	a := testAttachment()
	a.Error = &imds.ErrorDocument{
		Code:    "AssumeRoleUnauthorizedAccess",
		Message: "EC2 cannot assume the role web-role. Please see documentation at http://docs.amazonwebservices.com/IAM/latest/UserGuide/RolesTroubleshooting.html.",
		Since:   t0,
	}
	f.src.set(&a)
	c, _ := sdkServer(t, f.srv, true)
	_, err := ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = c }).Retrieve(context.Background())
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AssumeRoleUnauthorizedAccess" || api.ErrorMessage() != a.Error.Message {
		t.Fatalf("Retrieve error = %v, want API error AssumeRoleUnauthorizedAccess with the message", err)
	}
	if want := "api error AssumeRoleUnauthorizedAccess: EC2 cannot assume the role web-role."; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

// TestSDK_ThrottleRetried: the Go IMDS client retries a 429 as a throttling
// error (aws-sdk-go-v2 v1.48.0) and succeeds once the bucket refills.
func TestSDK_ThrottleRetried(t *testing.T) {
	f := newFixture(t, func(o *imds.Options) { o.Throttle = imds.Throttle{RPS: 1, Burst: 2} })
	tr := &trace{}
	ts := httptest.NewServer(tr.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Each request after the first three moves the clock 600 ms, so
		// the bucket refills only while the SDK retries.
		if len(tr.requests()) > 3 {
			f.clock.Advance(600 * time.Millisecond)
		}
		f.srv.ServeHTTP(w, r)
	})))
	defer ts.Close()
	noBackoff := retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
	c := sdkimds.New(sdkimds.Options{Endpoint: ts.URL, ClientEnableState: sdkimds.ClientEnabled, Retryer: noBackoff, DisableDefaultMaxBackoff: true})
	get := func() error {
		out, err := c.GetMetadata(context.Background(), &sdkimds.GetMetadataInput{Path: "instance-id"})
		if err == nil {
			out.Content.Close()
		}
		return err
	}
	if err := get(); err != nil { // PUT + GET: the burst
		t.Fatalf("first GetMetadata: %v", err)
	}
	if err := get(); err != nil {
		t.Fatalf("GetMetadata while throttled: %v, want success after retries\n%s", err, tr)
	}
	var gets int
	for _, r := range tr.requests()[2:] {
		if r.Method == "GET" {
			gets++
		}
	}
	// 429 (bucket empty), 429 (0.6 token), 200 (1.2 tokens).
	if gets != 3 {
		t.Errorf("GETs after the burst = %d, want 3 (two 429s retried):\n%s", gets, tr)
	}
}

func TestSDK_NewMetadataPaths(t *testing.T) {
	key := testIdentityKey(t)
	f := newFixture(t, func(o *imds.Options) {
		o.HTTPTokens = imds.ModeRequired
		o.InstanceMetadataTags = true
		o.Instance = imds.Instance{Tags: map[string]string{"Name": "web-1"}, UserData: []byte("#cloud-config\n")}
		o.IdentityKey = key
		o.IdentityCertificate = testIdentityCert(t, key)
	})
	c, _ := sdkServer(t, f.srv, false)
	ctx := context.Background()
	read := func(rc io.ReadCloser, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	meta := func(p string) string {
		out, err := c.GetMetadata(ctx, &sdkimds.GetMetadataInput{Path: p})
		if err != nil {
			t.Fatalf("GetMetadata(%q): %v", p, err)
		}
		return read(out.Content, nil)
	}
	for p, want := range map[string]string{
		"mac":                            "0e:00:0a:00:00:01",
		"placement/availability-zone-id": "use1-az1",
		"network/interfaces/macs/":       "0e:00:0a:00:00:01/",
		"network/interfaces/macs/0e:00:0a:00:00:01/local-ipv4s": "10.0.0.1",
		"tags/instance/":     "Name",
		"tags/instance/Name": "web-1",
	} {
		if got := meta(p); got != want {
			t.Errorf("GetMetadata(%q) = %q, want %q", p, got, want)
		}
	}
	ud, err := c.GetUserData(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(ud.Content, nil); got != "#cloud-config\n" {
		t.Errorf("GetUserData = %q", got)
	}
	dd, err := c.GetDynamicData(ctx, &sdkimds.GetDynamicDataInput{Path: "instance-identity/signature"})
	if err != nil {
		t.Fatal(err)
	}
	if got := read(dd.Content, nil); len(got) < 300 {
		t.Errorf("GetDynamicData(signature) = %q, want a base64 RSA-2048 signature", got)
	}
}
