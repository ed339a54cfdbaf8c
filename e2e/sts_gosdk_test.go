package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestSTS_GoSDK_EveryAction drives every STS action of the running binary
// with aws-sdk-go-v2's service/sts client.
func TestSTS_GoSDK_EveryAction(t *testing.T) {
	w := startSTSWorld(t)
	ctx := context.Background()
	alice := w.newKey(t, "alice")
	root := w.newKey(t, "")
	ac := w.client(alice)

	who, err := ac.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:iam::123456789012:user/alice" || !strings.HasPrefix(aws.ToString(who.UserId), "AIDA") {
		t.Fatalf("GetCallerIdentity(alice) = %+v, %v", who, err)
	}
	if arn, err := w.callerARN(t, root); err != nil || arn != "arn:aws:iam::123456789012:root" {
		t.Errorf("GetCallerIdentity(root) = %q, %v", arn, err)
	}

	ar, err := ac.AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/app"), RoleSessionName: aws.String("alice"),
		DurationSeconds: aws.Int32(7200), SourceIdentity: aws.String("alice"),
		Tags: []types.Tag{{Key: aws.String("project"), Value: aws.String("demo")}},
	})
	if err != nil {
		t.Fatalf("AssumeRole() = %v", err)
	}
	if got := aws.ToString(ar.AssumedRoleUser.Arn); got != "arn:aws:sts::123456789012:assumed-role/app/alice" {
		t.Errorf("AssumeRole Arn = %q", got)
	}
	roleCreds := sessionOf(ar.Credentials.AccessKeyId, ar.Credentials.SecretAccessKey, ar.Credentials.SessionToken)
	if arn, err := w.callerARN(t, roleCreds); err != nil || arn != "arn:aws:sts::123456789012:assumed-role/app/alice" {
		t.Errorf("GetCallerIdentity(role session) = %q, %v", arn, err)
	}
	_, err = w.client(roleCreds).GetSessionToken(ctx, &awssts.GetSessionTokenInput{})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("GetSessionToken(role session) = %v, want AccessDenied", err)
	}

	st, err := ac.GetSessionToken(ctx, &awssts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatalf("GetSessionToken() = %v", err)
	}
	if arn, err := w.callerARN(t, sessionOf(st.Credentials.AccessKeyId, st.Credentials.SecretAccessKey, st.Credentials.SessionToken)); err != nil || arn != "arn:aws:iam::123456789012:user/alice" {
		t.Errorf("GetCallerIdentity(GetSessionToken creds) = %q, %v", arn, err)
	}

	ft, err := ac.GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("carol"),
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)})
	if err != nil {
		t.Fatalf("GetFederationToken() = %v", err)
	}
	fed := sessionOf(ft.Credentials.AccessKeyId, ft.Credentials.SecretAccessKey, ft.Credentials.SessionToken)
	if arn, err := w.callerARN(t, fed); err != nil || arn != "arn:aws:sts::123456789012:federated-user/carol" {
		t.Errorf("GetCallerIdentity(federated) = %q, %v", arn, err)
	}
	_, err = w.client(fed).AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/app"), RoleSessionName: aws.String("x1")})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("federated user AssumeRole = %v, want AccessDenied", err)
	}

	info, err := ac.GetAccessKeyInfo(ctx, &awssts.GetAccessKeyInfoInput{AccessKeyId: ar.Credentials.AccessKeyId})
	if err != nil || aws.ToString(info.Account) != stsAccount {
		t.Errorf("GetAccessKeyInfo = %+v, %v", info, err)
	}

	bob := w.newKey(t, "bob")
	_, err = w.client(bob).AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/app"), RoleSessionName: aws.String("bob")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Fatalf("bob AssumeRole = %v, want AccessDenied", err)
	}
	_, encoded, ok := strings.Cut(ae.ErrorMessage(), "Encoded authorization failure message: ")
	if !ok {
		t.Fatalf("no encoded message in %q", ae.ErrorMessage())
	}
	dec, err := ac.DecodeAuthorizationMessage(ctx, &awssts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String(encoded)})
	if err != nil || !strings.Contains(aws.ToString(dec.DecodedMessage), `"allowed":false`) {
		t.Errorf("DecodeAuthorizationMessage = %v, %v", dec, err)
	}

	// The web identity and SAML actions are unsigned; the tokens come from
	// imdsemu's built-in IdPs, as a user would mint them.
	token := strings.TrimSpace(imdsemu(t, "idp", "token", "--data-dir", w.dataDir, "--issuer", w.sts, "--sub", "repo:demo", "--aud", "sts.amazonaws.com"))
	wi, err := w.client(aws.Credentials{}).AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/ci"), RoleSessionName: aws.String("build-1"), WebIdentityToken: aws.String(token),
	})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity() = %v", err)
	}
	if got := aws.ToString(wi.AssumedRoleUser.Arn); got != "arn:aws:sts::123456789012:assumed-role/ci/build-1" {
		t.Errorf("web identity Arn = %q", got)
	}
	assertion := strings.TrimSpace(imdsemu(t, "idp", "saml-assertion", "--data-dir", w.idpDir,
		"--role", "arn:aws:iam::123456789012:role/sso,arn:aws:iam::123456789012:saml-provider/corp", "--session-name", "alice@example.com"))
	sa, err := w.client(aws.Credentials{}).AssumeRoleWithSAML(ctx, &awssts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/sso"), PrincipalArn: aws.String("arn:aws:iam::123456789012:saml-provider/corp"),
		SAMLAssertion: aws.String(assertion),
	})
	if err != nil {
		t.Fatalf("AssumeRoleWithSAML() = %v", err)
	}
	if got := aws.ToString(sa.AssumedRoleUser.Arn); got != "arn:aws:sts::123456789012:assumed-role/sso/alice@example.com" {
		t.Errorf("SAML Arn = %q", got)
	}

	// Presigned GetCallerIdentity, sent as a plain HTTP GET (the way EKS
	// and Vault use it).
	pre, err := awssts.NewPresignClient(ac).PresignGetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(pre.Method, pre.URL, nil)
	for k, vs := range pre.SignedHeader {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<Arn>arn:aws:iam::123456789012:user/alice</Arn>") {
		t.Errorf("presigned GET = %d %s", resp.StatusCode, body)
	}
}

// TestSTS_GoSDK_BadRequests sends broken requests to the binary and checks
// it answers each as AWS would and keeps serving.
func TestSTS_GoSDK_BadRequests(t *testing.T) {
	w := startSTSWorld(t)
	ctx := context.Background()
	alice := w.newKey(t, "alice")
	root := w.newKey(t, "")
	cases := []struct {
		name string
		call func() error
		code string
	}{
		{"WrongSecret", func() error {
			_, err := w.client(aws.Credentials{AccessKeyID: alice.AccessKeyID, SecretAccessKey: root.SecretAccessKey}).GetCallerIdentity(ctx, nil)
			return err
		}, "SignatureDoesNotMatch"},
		{"UnknownKey", func() error {
			_, err := w.client(aws.Credentials{AccessKeyID: "AKIAAAAAAAAAAAAAAAAA", SecretAccessKey: alice.SecretAccessKey}).GetCallerIdentity(ctx, nil)
			return err
		}, "InvalidClientTokenId"},
		{"RootAssumesRole", func() error {
			_, err := w.client(root).AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/app"), RoleSessionName: aws.String("r1")})
			return err
		}, "AccessDenied"},
		{"DurationOverRoleMax", func() error {
			_, err := w.client(alice).AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/app"), RoleSessionName: aws.String("r1"), DurationSeconds: aws.Int32(7201)})
			return err
		}, "ValidationError"},
		{"BadPolicy", func() error {
			_, err := w.client(alice).AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/app"), RoleSessionName: aws.String("r1"), Policy: aws.String("{")})
			return err
		}, "MalformedPolicyDocument"},
		{"ExpiredWebIdentityToken", func() error {
			tok := strings.TrimSpace(imdsemu(t, "idp", "token", "--data-dir", w.dataDir, "--issuer", w.sts, "--sub", "repo:demo", "--aud", "sts.amazonaws.com", "--ttl", "-1m"))
			_, err := w.client(aws.Credentials{}).AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
				RoleArn: aws.String("arn:aws:iam::123456789012:role/ci"), RoleSessionName: aws.String("b1"), WebIdentityToken: aws.String(tok)})
			return err
		}, "ExpiredTokenException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); apiCode(err) != tc.code {
				t.Errorf("got %v, want %s", err, tc.code)
			}
		})
	}
	if arn, err := w.callerARN(t, alice); err != nil || !strings.HasSuffix(arn, ":user/alice") {
		t.Errorf("after bad requests: %q, %v", arn, err)
	}
}
