package sts_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/pquerna/otp/totp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

// apiError returns the AWS error code of err, or "" if it is not one.
func apiError(err error) (string, string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "", ""
}

func TestServer_GetCallerIdentity(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cases := []struct {
		name           string
		creds          aws.Credentials
		arn, userID    string
		userIDIsPrefix bool
	}{
		{"Root", longTerm(rootKeyID, rootSec), "arn:aws:iam::123456789012:root", acct, false},
		{"User", longTerm(aliceKeyID, aliceSec), "arn:aws:iam::123456789012:user/alice", f.alice.ID, false},
		{"InstanceProfile", f.instanceCreds(t, time.Hour),
			"arn:aws:sts::123456789012:assumed-role/imdsemu-demo/i-0123456789abcdef0",
			f.roles["imdsemu-demo"].ID + ":i-0123456789abcdef0", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := f.client(tc.creds).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatalf("GetCallerIdentity() = %v", err)
			}
			if got := aws.ToString(out.Arn); got != tc.arn {
				t.Errorf("Arn = %q, want %q", got, tc.arn)
			}
			if got := aws.ToString(out.UserId); got != tc.userID {
				t.Errorf("UserId = %q, want %q", got, tc.userID)
			}
			if got := aws.ToString(out.Account); got != acct {
				t.Errorf("Account = %q, want %q", got, acct)
			}
		})
	}
}

func TestServer_ResponseHeadersAndXML(t *testing.T) {
	f := newFixture(t)
	r := f.call(t, longTerm(rootKeyID, rootSec), form("GetCallerIdentity"))
	if r.Status != 200 {
		t.Fatalf("status = %d, body %s", r.Status, r.Body)
	}
	if id := r.Header.Get("X-Amzn-Requestid"); len(id) != 36 {
		t.Errorf("x-amzn-RequestId = %q, want a UUID", id)
	}
	if _, err := http.ParseTime(r.Header.Get("Date")); err != nil {
		t.Errorf("Date header = %q: %v", r.Header.Get("Date"), err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/xml" {
		t.Errorf("Content-Type = %q, want text/xml", ct)
	}
	want := `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:root</Arn><UserId>123456789012</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>`
	if !strings.HasPrefix(r.Body, want) {
		t.Errorf("body = %s\nwant prefix %s", r.Body, want)
	}
	e := f.call(t, longTerm(rootKeyID, rootSec), form("NoSuchThing"))
	wantErr := `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>Could not find operation NoSuchThing for version 2011-06-15</Message></Error><RequestId>`
	if e.Status != 400 || !strings.HasPrefix(e.Body, wantErr) {
		t.Errorf("unknown action = %d %s\nwant 400 %s", e.Status, e.Body, wantErr)
	}
}

func TestServer_Presigned(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for name, creds := range map[string]aws.Credentials{
		"LongTerm": longTerm(aliceKeyID, aliceSec),
		"Session":  f.instanceCreds(t, time.Hour),
	} {
		t.Run(name, func(t *testing.T) {
			pre, err := awssts.NewPresignClient(f.client(creds)).PresignGetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatal(err)
			}
			req, err := http.NewRequest(pre.Method, pre.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range pre.SignedHeader {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			r := f.do(t, req)
			if r.Status != 200 || !strings.Contains(r.Body, "<Account>123456789012</Account>") {
				t.Fatalf("presigned GET = %d %s %s", r.Status, r.Code, r.Msg)
			}
			// Tampering with any signed parameter breaks it.
			u, _ := url.Parse(pre.URL)
			q := u.Query()
			q.Set("X-Amz-Date", q.Get("X-Amz-Date")[:len(q.Get("X-Amz-Date"))-2]+"00Z")
			u.RawQuery = q.Encode()
			req2, _ := http.NewRequest(http.MethodGet, u.String(), nil)
			if r := f.do(t, req2); r.Code != sts.CodeSignatureDoesNotMatch && r.Code != sts.CodeIncompleteSignature {
				t.Errorf("tampered presigned GET = %d %s, want SignatureDoesNotMatch", r.Status, r.Code)
			}
		})
	}
}

func TestServer_AssumeRole(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	web := f.roles["web"]
	out, err := f.client(longTerm(aliceKeyID, aliceSec)).AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String(web.ARN()), RoleSessionName: aws.String("alice@example.com"),
		DurationSeconds:   aws.Int32(7200),
		Tags:              []types.Tag{{Key: aws.String("project"), Value: aws.String("demo")}},
		TransitiveTagKeys: []string{"project"},
		SourceIdentity:    aws.String("alice"),
		Policy:            aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:SetSourceIdentity","sts:TagSession"],"Resource":"*"}]}`),
	})
	if err != nil {
		t.Fatalf("AssumeRole() = %v", err)
	}
	if got, want := aws.ToString(out.AssumedRoleUser.Arn), "arn:aws:sts::123456789012:assumed-role/web/alice@example.com"; got != want {
		t.Errorf("AssumedRoleUser.Arn = %q, want %q", got, want)
	}
	if got, want := aws.ToString(out.AssumedRoleUser.AssumedRoleId), web.ID+":alice@example.com"; got != want {
		t.Errorf("AssumedRoleId = %q, want %q", got, want)
	}
	if aws.ToString(out.SourceIdentity) != "alice" || out.PackedPolicySize == nil || *out.PackedPolicySize < 1 {
		t.Errorf("SourceIdentity %q, PackedPolicySize %v", aws.ToString(out.SourceIdentity), out.PackedPolicySize)
	}
	if d := time.Until(aws.ToTime(out.Credentials.Expiration)); d < 119*time.Minute || d > 121*time.Minute {
		t.Errorf("Expiration in %v, want 2h", d)
	}
	session := aws.Credentials{AccessKeyID: aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey), SessionToken: aws.ToString(out.Credentials.SessionToken)}
	who, err := f.client(session).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != aws.ToString(out.AssumedRoleUser.Arn) {
		t.Fatalf("GetCallerIdentity(assumed) = %v, %v", who, err)
	}
	s, err := f.issuer.Open(session.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Tags) != 1 || s.Tags[0] != (sts.Tag{Key: "project", Value: "demo"}) || s.SessionPolicy == "" || s.PolicyDigest == "" {
		t.Errorf("sealed session = tags %v, policy %q, digest %q", s.Tags, s.SessionPolicy, s.PolicyDigest)
	}

	// Role chaining: the web session assumes web again, within 1 h; the
	// transitive tag and the source identity carry over.
	chained, err := f.client(session).AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String(web.ARN()), RoleSessionName: aws.String("chained"), DurationSeconds: aws.Int32(3600),
	})
	if err != nil {
		t.Fatalf("chained AssumeRole() = %v", err)
	}
	cs, err := f.issuer.Open(aws.ToString(chained.Credentials.SessionToken))
	if err != nil {
		t.Fatal(err)
	}
	if !cs.Chained || cs.SourceIdentity != "alice" || len(cs.Tags) != 1 || cs.Tags[0].Key != "project" {
		t.Errorf("chained session = chained %v, source identity %q, tags %v", cs.Chained, cs.SourceIdentity, cs.Tags)
	}

	// Delegation to the account: alice's identity policy allows it, with the external id.
	if _, err := f.client(longTerm(aliceKeyID, aliceSec)).AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String(f.roles["delegated"].ARN()), RoleSessionName: aws.String("ticket"), ExternalId: aws.String("ticket-42"),
	}); err != nil {
		t.Errorf("AssumeRole(delegated, external id) = %v", err)
	}
	// Bob has no identity policy: the account-wide trust is not enough.
	_, err = f.client(longTerm(bobKeyID, bobSec)).AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String(f.roles["delegated"].ARN()), RoleSessionName: aws.String("ticket"), ExternalId: aws.String("ticket-42"),
	})
	if code, msg := apiError(err); code != sts.CodeAccessDenied ||
		!strings.HasPrefix(msg, "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/delegated") {
		t.Errorf("bob AssumeRole(delegated) = %v, want AccessDenied with AWS's message", err)
	}
	// Wrong external id.
	_, err = f.client(longTerm(aliceKeyID, aliceSec)).AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String(f.roles["delegated"].ARN()), RoleSessionName: aws.String("ticket"), ExternalId: aws.String("ticket-43"),
	})
	if code, _ := apiError(err); code != sts.CodeAccessDenied {
		t.Errorf("AssumeRole(wrong external id) = %v, want AccessDenied", err)
	}
}

func TestServer_MFA(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	alice := f.client(longTerm(aliceKeyID, aliceSec))
	serial := rolestore.MFASerial(acct, "alice")
	mfaRole := f.roles["mfa"].ARN()
	_, err := alice.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(mfaRole), RoleSessionName: aws.String("nomfa")})
	if code, _ := apiError(err); code != sts.CodeAccessDenied {
		t.Errorf("AssumeRole(MFA role, no MFA) = %v, want AccessDenied", err)
	}
	code, err := totp.GenerateCode(mfaSeed, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(mfaRole), RoleSessionName: aws.String("mfa"),
		SerialNumber: aws.String(serial), TokenCode: aws.String(code)}); err != nil {
		t.Errorf("AssumeRole(MFA role, good code) = %v", err)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	_, err = alice.GetSessionToken(ctx, &awssts.GetSessionTokenInput{SerialNumber: aws.String(serial), TokenCode: aws.String(wrong)})
	if c, msg := apiError(err); c != sts.CodeAccessDenied || msg != "MultiFactorAuthentication failed with invalid MFA one time pass code." {
		t.Errorf("GetSessionToken(wrong code) = %v", err)
	}
	_, err = alice.GetSessionToken(ctx, &awssts.GetSessionTokenInput{SerialNumber: aws.String("arn:aws:iam::123456789012:mfa/bob"), TokenCode: aws.String(code)})
	if c, _ := apiError(err); c != sts.CodeAccessDenied {
		t.Errorf("GetSessionToken(someone else's device) = %v, want AccessDenied", err)
	}
	// MFA-authenticated session credentials carry MFA into AssumeRole.
	st, err := alice.GetSessionToken(ctx, &awssts.GetSessionTokenInput{SerialNumber: aws.String(serial), TokenCode: aws.String(code), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatalf("GetSessionToken(MFA) = %v", err)
	}
	session := aws.Credentials{AccessKeyID: aws.ToString(st.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(st.Credentials.SecretAccessKey), SessionToken: aws.ToString(st.Credentials.SessionToken)}
	who, err := f.client(session).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:iam::123456789012:user/alice" {
		t.Errorf("GetCallerIdentity(GetSessionToken creds) = %v, %v; want alice", who, err)
	}
	if _, err := f.client(session).AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(mfaRole), RoleSessionName: aws.String("viamfa")}); err != nil {
		t.Errorf("AssumeRole(MFA role, MFA session) = %v", err)
	}
}

// TestServer_MFAWindow: a TOTP code is accepted one 30-second step either
// side of now, as AWS does, and not two.
func TestServer_MFAWindow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	alice := f.client(longTerm(aliceKeyID, aliceSec))
	serial := rolestore.MFASerial(acct, "alice")
	// One second into a step, so that no step boundary falls between
	// generating a code and the server checking it.
	now := f.clock.Now()
	f.clock.Advance(30*time.Second - now.Sub(now.Truncate(30*time.Second)) + time.Second)
	inWindow := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		code, _ := totp.GenerateCode(mfaSeed, f.clock.At(d))
		inWindow[code] = true
	}
	for _, tc := range []struct {
		at   time.Duration
		want bool
	}{{-90 * time.Second, false}, {-60 * time.Second, false}, {-30 * time.Second, true}, {0, true}, {30 * time.Second, true}, {60 * time.Second, false}, {90 * time.Second, false}} {
		code, err := totp.GenerateCode(mfaSeed, f.clock.At(tc.at))
		if err != nil {
			t.Fatal(err)
		}
		if !tc.want && inWindow[code] {
			continue // the same six digits as a code in the window: 1 in 10^6
		}
		_, err = alice.GetSessionToken(ctx, &awssts.GetSessionTokenInput{SerialNumber: aws.String(serial), TokenCode: aws.String(code), DurationSeconds: aws.Int32(900)})
		if got := err == nil; got != tc.want {
			t.Errorf("GetSessionToken(code of now%+v) accepted = %v (%v), want %v", tc.at, got, err, tc.want)
		}
	}
}

func TestServer_GetFederationToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	out, err := f.client(longTerm(aliceKeyID, aliceSec)).GetFederationToken(ctx, &awssts.GetFederationTokenInput{
		Name:   aws.String("carol"),
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`),
	})
	if err != nil {
		t.Fatalf("GetFederationToken() = %v", err)
	}
	if got := aws.ToString(out.FederatedUser.Arn); got != "arn:aws:sts::123456789012:federated-user/carol" {
		t.Errorf("FederatedUser.Arn = %q", got)
	}
	if got := aws.ToString(out.FederatedUser.FederatedUserId); got != "123456789012:carol" {
		t.Errorf("FederatedUserId = %q", got)
	}
	if d := time.Until(aws.ToTime(out.Credentials.Expiration)); d < 11*time.Hour {
		t.Errorf("Expiration in %v, want the 12 h default", d)
	}
	fed := f.client(aws.Credentials{AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey), SessionToken: aws.ToString(out.Credentials.SessionToken)})
	who, err := fed.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.UserId) != "123456789012:carol" {
		t.Errorf("GetCallerIdentity(federated) = %v, %v", who, err)
	}
	// Bob has no permission to federate.
	_, err = f.client(longTerm(bobKeyID, bobSec)).GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("dave")})
	if code, _ := apiError(err); code != sts.CodeAccessDenied {
		t.Errorf("bob GetFederationToken() = %v, want AccessDenied", err)
	}
	// Root may, and is capped at 1 h.
	rootOut, err := f.client(longTerm(rootKeyID, rootSec)).GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("ops"), DurationSeconds: aws.Int32(7200)})
	if err != nil {
		t.Fatalf("root GetFederationToken() = %v", err)
	}
	if d := time.Until(aws.ToTime(rootOut.Credentials.Expiration)); d > 61*time.Minute {
		t.Errorf("root federation token lives %v, want at most 1 h", d)
	}
}

func TestServer_AccessKeyInfoAndDecode(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	alice := f.client(longTerm(aliceKeyID, aliceSec))
	inst := f.instanceCreds(t, time.Hour)
	for _, id := range []string{aliceKeyID, inst.AccessKeyID} {
		out, err := alice.GetAccessKeyInfo(ctx, &awssts.GetAccessKeyInfoInput{AccessKeyId: aws.String(id)})
		if err != nil || aws.ToString(out.Account) != acct {
			t.Errorf("GetAccessKeyInfo(%s) = %v, %v; want %s", id, out, err, acct)
		}
	}
	// A denial carries an encoded message that alice may decode.
	_, err := f.client(longTerm(bobKeyID, bobSec)).AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String(f.roles["web"].ARN()), RoleSessionName: aws.String("bob")})
	_, msg := apiError(err)
	_, encoded, ok := strings.Cut(msg, "Encoded authorization failure message: ")
	if !ok {
		t.Fatalf("AccessDenied message %q has no encoded message", msg)
	}
	out, err := alice.DecodeAuthorizationMessage(ctx, &awssts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String(encoded)})
	if err != nil {
		t.Fatalf("DecodeAuthorizationMessage() = %v", err)
	}
	var doc struct {
		Allowed     bool   `json:"allowed"`
		Explanation string `json:"explanation"`
		Context     struct {
			Action, Resource string
		} `json:"context"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.DecodedMessage)), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Allowed || doc.Context.Action != "sts:AssumeRole" || !strings.Contains(doc.Explanation, "trust policy") {
		t.Errorf("decoded = %+v", doc)
	}
	// Bob may not decode; a forged message is refused.
	_, err = f.client(longTerm(bobKeyID, bobSec)).DecodeAuthorizationMessage(ctx, &awssts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String(encoded)})
	if code, _ := apiError(err); code != sts.CodeAccessDenied {
		t.Errorf("bob DecodeAuthorizationMessage() = %v, want AccessDenied", err)
	}
	_, err = alice.DecodeAuthorizationMessage(ctx, &awssts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String("forged")})
	if code, _ := apiError(err); code != sts.CodeInvalidAuthorizationMessage {
		t.Errorf("DecodeAuthorizationMessage(forged) = %v, want InvalidAuthorizationMessageException", err)
	}
}

func TestServer_ExpiryAndRevocation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inst := f.instanceCreds(t, time.Hour)
	if r := f.call(t, inst, form("GetCallerIdentity")); r.Status != 200 {
		t.Fatalf("fresh instance creds = %d %s", r.Status, r.Code)
	}
	// Revoking the role denies sessions issued before now, not later ones.
	if err := f.store.Revoke(ctx, f.roles["imdsemu-demo"].ARN(), f.clock.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	r := f.call(t, inst, form("GetCallerIdentity"))
	if r.Status != 403 || r.Code != sts.CodeAccessDenied ||
		!strings.HasPrefix(r.Msg, "User: arn:aws:sts::123456789012:assumed-role/imdsemu-demo/i-0123456789abcdef0 is not authorized to perform: sts:GetCallerIdentity on resource: * with an explicit deny") {
		t.Errorf("revoked = %d %s %q", r.Status, r.Code, r.Msg)
	}
	f.clock.Advance(2 * time.Second)
	fresh := f.instanceCreds(t, time.Hour)
	if r := f.call(t, fresh, form("GetCallerIdentity")); r.Status != 200 {
		t.Errorf("session issued after the revocation = %d %s", r.Status, r.Code)
	}
	// After expiry: ExpiredToken (403, as AWS).
	f.clock.Advance(time.Hour)
	r = f.call(t, fresh, form("GetCallerIdentity"))
	if r.Status != 403 || r.Code != sts.CodeExpiredToken || r.Msg != "The security token included in the request is expired" {
		t.Errorf("expired = %d %s %q", r.Status, r.Code, r.Msg)
	}
	// Long-term keys are not touched by either.
	if r := f.call(t, longTerm(aliceKeyID, aliceSec), form("GetCallerIdentity")); r.Status != 200 {
		t.Errorf("long-term key after an hour = %d %s", r.Status, r.Code)
	}
}

func TestServer_Metrics(t *testing.T) {
	f := newFixture(t)
	f.call(t, longTerm(aliceKeyID, aliceSec), form("GetCallerIdentity"))
	f.call(t, longTerm(aliceKeyID, "x"+aliceSec[1:]), form("GetCallerIdentity"))
	if got := counterValue(t, f, "imdsemu_sts_requests_total", map[string]string{"action": "GetCallerIdentity", "code": "200"}); got != 1 {
		t.Errorf("requests_total{GetCallerIdentity,200} = %v, want 1", got)
	}
	if got := counterValue(t, f, "imdsemu_sts_signature_failures_total", map[string]string{"reason": "mismatch"}); got != 1 {
		t.Errorf("signature_failures_total{mismatch} = %v, want 1", got)
	}
	if got := counterValue(t, f, "imdsemu_sts_requests_total", map[string]string{"action": "GetCallerIdentity", "code": "403"}); got != 1 {
		t.Errorf("requests_total{GetCallerIdentity,403} = %v, want 1", got)
	}
	if n, err := testutil.GatherAndCount(f.reg, "imdsemu_sts_requests_total"); err != nil || n != 2 {
		t.Errorf("requests_total series = %d, %v; want 2", n, err)
	}
}

// counterValue reads one counter of the fixture's registry by its labels.
func counterValue(t *testing.T, f *fixture, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
	metric:
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestServer_BodyTooLarge(t *testing.T) {
	f := newFixture(t)
	body := strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15&x=" + strings.Repeat("a", sts.MaxBodyBytes))
	req, _ := http.NewRequest(http.MethodPost, f.hs.URL+"/", body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := f.do(t, req); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body = %d %s", r.Status, r.Code)
	}
	resp, err := http.Get(f.hs.URL + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET /nope = %d, want 404", resp.StatusCode)
	}
}

// TestServer_PresignedLivesForXAmzExpires checks that a presigned URL is
// judged by X-Amz-Date + X-Amz-Expires rather than the 15-minute clock
// skew (a URL signed 20 minutes ago with X-Amz-Expires=3600 still works),
// and that a URL signed with session credentials dies with the session.
func TestServer_PresignedLivesForXAmzExpires(t *testing.T) {
	f := newFixture(t)
	presign := func(t *testing.T, creds aws.Credentials, at time.Time, expires int) *http.Request {
		t.Helper()
		r, _ := http.NewRequest(http.MethodGet, f.hs.URL+"/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires="+strconv.Itoa(expires), nil)
		u, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, emptySHA256, "sts", "us-east-1", at)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		for k, vs := range hdr {
			req.Header[k] = vs
		}
		return req
	}
	t.Run("SignedTwentyMinutesAgo", func(t *testing.T) {
		req := presign(t, longTerm(aliceKeyID, aliceSec), f.clock.At(-20*time.Minute), 3600)
		if r := f.do(t, req); r.Status != 200 {
			t.Fatalf("presigned GET signed 20 min ago, X-Amz-Expires=3600 = %d %s %s, want 200", r.Status, r.Code, r.Msg)
		}
	})
	t.Run("PastXAmzExpires", func(t *testing.T) {
		req := presign(t, longTerm(aliceKeyID, aliceSec), f.clock.At(-61*time.Minute), 3600)
		if r := f.do(t, req); r.Code != sts.CodeSignatureDoesNotMatch || !strings.Contains(r.Msg, "X-Amz-Expires") {
			t.Fatalf("presigned GET signed 61 min ago, X-Amz-Expires=3600 = %d %s %s, want SignatureDoesNotMatch", r.Status, r.Code, r.Msg)
		}
	})
	t.Run("SessionExpiresFirst", func(t *testing.T) {
		creds := f.instanceCreds(t, 15*time.Minute)
		req := presign(t, creds, f.clock.Now(), 7*24*3600)
		if r := f.do(t, req); r.Status != 200 {
			t.Fatalf("presigned GET with a live session = %d %s %s", r.Status, r.Code, r.Msg)
		}
		f.clock.Advance(20 * time.Minute)
		req = presign(t, creds, f.clock.At(-20*time.Minute), 7*24*3600)
		if r := f.do(t, req); r.Code != "ExpiredToken" {
			t.Fatalf("presigned GET after the session expired = %d %s %s, want ExpiredToken", r.Status, r.Code, r.Msg)
		}
	})
}

// emptySHA256 is the hex SHA-256 of an empty payload.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// TestServer_RevocationWithinOneSecond: a revocation tells sessions issued
// before it from sessions issued after it even within one second, although
// a session's issue time is reported to the second (as AWS does) and the
// revocation time is kept to the nanosecond.
func TestServer_RevocationWithinOneSecond(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Move the clock to 50 ms past a whole second, so that everything below
	// falls in that second.
	now := f.clock.Now()
	f.clock.Advance(time.Second - time.Duration(now.Nanosecond()) + 50*time.Millisecond)
	before := f.instanceCreds(t, time.Hour)
	f.clock.Advance(time.Millisecond)
	at := f.clock.Now()
	if err := f.store.Revoke(ctx, f.roles["imdsemu-demo"].ARN(), at); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Millisecond)
	after := f.instanceCreds(t, time.Hour)
	if s := f.clock.Now(); s.Truncate(time.Second) != at.Truncate(time.Second) {
		t.Logf("the test ran into the next second (%s, revoked at %s); it proves nothing this time", s, at)
	}
	if r := f.call(t, before, form("GetCallerIdentity")); r.Status != 403 || r.Code != sts.CodeAccessDenied {
		t.Errorf("session issued 1 ms before the revocation = %d %s, want 403 AccessDenied", r.Status, r.Code)
	}
	if r := f.call(t, after, form("GetCallerIdentity")); r.Status != 200 {
		t.Errorf("session issued 1 ms after the revocation = %d %s %q, want 200", r.Status, r.Code, r.Msg)
	}
}
