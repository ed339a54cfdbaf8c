package iamapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsemu/imdsemu/iamapi"
	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

const (
	acct       = "123456789012"
	adminKey   = "AKIAADMINADMINADMIN2"
	adminSec   = "adminSecretadminSecretadminSecretadmin+/"
	nobodyKey  = "AKIANOBODYNOBODYNOB2"
	nobodySec  = "nobodySecretnobodySecretnobodySecret1234"
	rootKey    = "AKIAROOTROOTROOTROOT"
	rootSec    = "rootSecretrootSecretrootSecretrootSecret"
	allowIAM   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","sts:*"],"Resource":"*"}]}`
	ec2Trust   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	readPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}]}`
)

// profileLog records ProfileChanged calls.
type profileLog struct{ calls []string }

func (p *profileLog) ProfileChanged(_ context.Context, arn, role string) error {
	p.calls = append(p.calls, arn+"="+role)
	return nil
}

type fixture struct {
	store    *rolestore.SQLite
	sts      *sts.Server
	iam      *iamapi.Server
	hs       *httptest.Server
	profiles *profileLog
	iss      *sts.Issuer
}

func (f *fixture) issuer() *sts.Issuer { return f.iss }

// iamOnly serves the IAM server alone, without Dispatch.
func (f *fixture) iamOnly(t testing.TB) *httptest.Server {
	hs := httptest.NewServer(f.iam)
	t.Cleanup(hs.Close)
	return hs
}

// newFixture is an IAM API over an SQLite store holding account acct with
// users admin (iam:*), nobody (no policies), the root user's key, and role
// "app" (trusting EC2, allowed iam:Get*).
func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{profiles: &profileLog{}}
	store, err := rolestore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "imdsemu.db"), rolestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f.store = store
	ctx := context.Background()
	seed := rolestore.Seed{
		Accounts: []rolestore.Account{{ID: acct}},
		Roles: []rolestore.Role{{AccountID: acct, Name: "app", TrustPolicy: ec2Trust,
			Policies: map[string]string{"read": readPolicy}}},
		Users: []rolestore.User{
			{AccountID: acct, Name: "admin", Policies: map[string]string{"admin": allowIAM}},
			{AccountID: acct, Name: "nobody"},
		},
	}
	if err := store.Apply(ctx, seed); err != nil {
		t.Fatal(err)
	}
	for _, k := range []rolestore.AccessKey{
		{ID: adminKey, SecretAccessKey: adminSec, AccountID: acct, UserName: "admin", Status: rolestore.AccessKeyActive},
		{ID: nobodyKey, SecretAccessKey: nobodySec, AccountID: acct, UserName: "nobody", Status: rolestore.AccessKeyActive},
		{ID: rootKey, SecretAccessKey: rootSec, AccountID: acct, Status: rolestore.AccessKeyActive},
	} {
		if _, err := store.PutAccessKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	issuer, err := sts.NewIssuer(sts.IssuerOptions{Key: make([]byte, sts.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	f.iss = issuer
	keyUse := sts.NewKeyUsage()
	if f.sts, err = sts.NewServer(sts.Options{Issuer: issuer, Directory: store, KeyUse: keyUse}); err != nil {
		t.Fatal(err)
	}
	f.iam, err = iamapi.NewServer(iamapi.Options{Auth: f.sts, Store: store, Profiles: f.profiles, KeyUse: keyUse, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	f.hs = httptest.NewServer(iamapi.Dispatch(f.iam, f.sts))
	t.Cleanup(f.hs.Close)
	return f
}

// client is aws-sdk-go-v2's IAM client signing with the key id/secret.
func (f *fixture) client(id, secret string) *awsiam.Client {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.StaticCredentialsProvider{Value: aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}}}
	return awsiam.NewFromConfig(cfg, func(o *awsiam.Options) {
		o.BaseEndpoint = aws.String(f.hs.URL)
		o.Retryer = aws.NopRetryer{}
	})
}

func (f *fixture) admin() *awsiam.Client { return f.client(adminKey, adminSec) }

// raw sends form (plus Version) signed by id/secret for service and returns
// the status and body: for golden documents and malformed requests.
func (f *fixture) raw(t testing.TB, id, secret, service string, form url.Values) (int, string) {
	t.Helper()
	return rawTo(t, f.hs, id, secret, service, form)
}

// rawTo is raw to the server hs.
func rawTo(t testing.TB, hs *httptest.Server, id, secret, service string, form url.Values) (int, string) {
	t.Helper()
	if form.Get("Version") == "" {
		form.Set("Version", iamapi.APIVersion)
	}
	body := form.Encode()
	r, err := http.NewRequest(http.MethodPost, hs.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	if id != "" {
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, r,
			hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
