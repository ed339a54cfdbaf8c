package sts_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsemu/imdsemu/federation"
	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

const (
	acct       = "123456789012"
	otherAcct  = "210987654321"
	aliceKeyID = "AKIAALICEALICEALICE2"
	aliceSec   = "aliceSecretaliceSecretaliceSecretalice+/"
	rootKeyID  = "AKIAROOTROOTROOTROOT"
	rootSec    = "rootSecretrootSecretrootSecretrootSecret"
	bobKeyID   = "AKIABOBBOBBOBBOBBOB2"
	bobSec     = "bobSecretbobSecretbobSecretbobSecret1234"
	mfaSeed    = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

	ec2Trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
)

// trustAlice trusts alice directly, plus tagging and source identity, and
// role sessions of "web" (for chaining).
const trustAlice = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/alice","arn:aws:iam::123456789012:role/web"]},
  "Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`

// trustMFA requires MFA.
const trustMFA = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},
 "Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`

// trustAccount delegates to the account: callers need an identity policy.
const trustAccount = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole",
 "Condition":{"StringEquals":{"sts:ExternalId":"ticket-42"}}}]}`

const allowAssumeAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:GetFederationToken","sts:DecodeAuthorizationMessage"],"Resource":"*"}]}`

// clock is the fixture's clock: real time plus an offset, so that the SDK
// (which signs with the real time) and the server agree, and tests can
// still jump ahead.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time               { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration)      { c.offset.Add(int64(d)) }
func (c *clock) At(d time.Duration) time.Time { return c.Now().Add(d) }

type fixture struct {
	clock  *clock
	store  *rolestore.SQLite
	issuer *sts.Issuer
	server *sts.Server
	hs     *httptest.Server
	reg    *prometheus.Registry
	roles  map[string]rolestore.Role
	alice  rolestore.User
	web    *federation.WebIdPs // the well-known web identity providers
	keyUse *sts.KeyUsage
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{clock: &clock{}, reg: prometheus.NewRegistry(), roles: map[string]rolestore.Role{}, keyUse: sts.NewKeyUsage()}
	store, err := rolestore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "imdsemu.db"), rolestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f.store = store
	ctx := context.Background()
	seed := rolestore.Seed{
		Accounts: []rolestore.Account{{ID: acct}, {ID: otherAcct}},
		Roles: []rolestore.Role{
			{AccountID: acct, Name: "imdsemu-demo", TrustPolicy: ec2Trust, MaxSessionDuration: 12 * time.Hour,
				Policies: map[string]string{"chain": allowAssumeAll}},
			{AccountID: acct, Name: "web", TrustPolicy: trustAlice, MaxSessionDuration: 12 * time.Hour,
				Policies: map[string]string{"chain": allowAssumeAll}, Tags: []rolestore.Tag{{Key: "team", Value: "web"}}},
			{AccountID: acct, Name: "mfa", TrustPolicy: trustMFA},
			{AccountID: acct, Name: "delegated", TrustPolicy: trustAccount},
		},
		Users: []rolestore.User{
			{AccountID: acct, Name: "alice", Policies: map[string]string{"assume": allowAssumeAll}, Tags: []rolestore.Tag{{Key: "dept", Value: "eng"}}},
			{AccountID: acct, Name: "bob"},
		},
	}
	if err := store.Apply(ctx, seed); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"imdsemu-demo", "web", "mfa", "delegated"} {
		r, err := store.Role(ctx, acct, name)
		if err != nil {
			t.Fatal(err)
		}
		f.roles[name] = r
	}
	if f.alice, err = store.User(ctx, acct, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []rolestore.AccessKey{
		{ID: aliceKeyID, SecretAccessKey: aliceSec, AccountID: acct, UserName: "alice", Status: rolestore.AccessKeyActive},
		{ID: bobKeyID, SecretAccessKey: bobSec, AccountID: acct, UserName: "bob", Status: rolestore.AccessKeyActive},
		{ID: rootKeyID, SecretAccessKey: rootSec, AccountID: acct, Status: rolestore.AccessKeyActive},
	} {
		if _, err := store.PutAccessKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.PutMFADevice(ctx, rolestore.MFADevice{SerialNumber: rolestore.MFASerial(acct, "alice"), AccountID: acct, UserName: "alice", Secret: mfaSeed}); err != nil {
		t.Fatal(err)
	}
	f.issuer, err = sts.NewIssuer(sts.IssuerOptions{Key: bytes.Repeat([]byte{7}, sts.KeySize), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	// A P-256 key: quick to make, and the stand-ins sign ES256 with it.
	webKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.web, err = federation.NewWebIdPs(federation.WebIdPsOptions{Key: webKey, OAuthKey: bytes.Repeat([]byte{9}, 32), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.server, err = sts.NewServer(sts.Options{Issuer: f.issuer, Directory: store, WellKnown: f.web, KeyUse: f.keyUse, Now: f.clock.Now, Registerer: f.reg})
	if err != nil {
		t.Fatal(err)
	}
	f.hs = httptest.NewServer(f.server)
	t.Cleanup(f.hs.Close)
	return f
}

// instanceCreds mints the credentials IMDS would serve for imdsemu-demo.
func (f *fixture) instanceCreds(t testing.TB, life time.Duration) aws.Credentials {
	t.Helper()
	r := f.roles["imdsemu-demo"]
	c, err := f.issuer.Issue(context.Background(), sts.Request{
		Action: sts.ActionInstanceProfile, AccountID: acct, RoleARN: r.ARN(), RoleID: r.ID,
		SessionName: "i-0123456789abcdef0", Duration: life,
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
}

func longTerm(id, secret string) aws.Credentials {
	return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
}

// client is the real aws-sdk-go-v2 STS client pointed at the fixture,
// signing with creds, without retries.
func (f *fixture) client(creds aws.Credentials) *awssts.Client {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.StaticCredentialsProvider{Value: creds}}
	return awssts.NewFromConfig(cfg, func(o *awssts.Options) {
		o.BaseEndpoint = aws.String(f.hs.URL)
		o.Retryer = aws.NopRetryer{}
	})
}

// anonymous is a client that signs nothing (the unsigned actions).
func (f *fixture) anonymous() *awssts.Client {
	cfg := aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}}
	return awssts.NewFromConfig(cfg, func(o *awssts.Options) {
		o.BaseEndpoint = aws.String(f.hs.URL)
		o.Retryer = aws.NopRetryer{}
	})
}

// rawResponse is a parsed answer to a hand-made request.
type rawResponse struct {
	Status int
	Code   string
	Msg    string
	Body   string
	Header http.Header
}

// signed builds a POST of form signed with creds at time at by the SDK's
// signer for the given region and service.
func signed(t testing.TB, target string, creds aws.Credentials, form url.Values, at time.Time, region, service string) *http.Request {
	t.Helper()
	body := form.Encode()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, at); err != nil {
		t.Fatal(err)
	}
	return req
}

func (f *fixture) do(t testing.TB, req *http.Request) rawResponse {
	t.Helper()
	resp, err := f.hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := rawResponse{Status: resp.StatusCode, Body: string(b), Header: resp.Header}
	var doc struct {
		Error struct{ Code, Message string }
	}
	if resp.StatusCode != 200 {
		if err := xml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("error body is not XML: %v\n%s", err, b)
		}
		out.Code, out.Msg = doc.Error.Code, doc.Error.Message
	}
	return out
}

// call signs form with creds at the fixture's now and sends it.
func (f *fixture) call(t testing.TB, creds aws.Credentials, form url.Values) rawResponse {
	t.Helper()
	return f.do(t, signed(t, f.hs.URL+"/", creds, form, f.clock.Now(), "us-east-1", "sts"))
}

func form(action string, kv ...string) url.Values {
	v := url.Values{"Action": {action}, "Version": {sts.APIVersion}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}
