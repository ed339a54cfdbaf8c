package sts_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/imdsemu/imdsemu/federation"
	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestServer_AssumeRoleWithWebIdentity(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var idp *federation.IdP
	idpServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { idp.Handler().ServeHTTP(w, r) }))
	t.Cleanup(idpServer.Close)
	var err error
	idp, err = federation.NewIdP(federation.IdPOptions{Issuer: idpServer.URL, Key: rsaKey(t), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	prov, err := f.store.PutOIDCProvider(ctx, rolestore.OIDCProvider{AccountID: acct, URL: idpServer.URL, ClientIDs: []string{"sts.amazonaws.com"}})
	if err != nil {
		t.Fatal(err)
	}
	host := prov.HostPath()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + prov.ARN() + `"},
	 "Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],
	 "Condition":{"StringEquals":{"` + host + `:aud":"sts.amazonaws.com"},"StringLike":{"` + host + `:sub":"repo:demo/*"}}}]}`
	role, err := f.store.PutRole(ctx, rolestore.Role{AccountID: acct, Name: "ci", TrustPolicy: trust})
	if err != nil {
		t.Fatal(err)
	}
	token, err := idp.Token("repo:demo/main", []string{"sts.amazonaws.com"}, time.Hour, map[string]any{
		"https://aws.amazon.com/tags": map[string]any{"principal_tags": map[string]any{"repo": []any{"demo"}}, "transitive_tag_keys": []any{"repo"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.anonymous().AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(role.ARN()), RoleSessionName: aws.String("build-7"), WebIdentityToken: aws.String(token),
	})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity() = %v", err)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::123456789012:assumed-role/ci/build-7" {
		t.Errorf("Arn = %q", got)
	}
	if aws.ToString(out.SubjectFromWebIdentityToken) != "repo:demo/main" || aws.ToString(out.Audience) != "sts.amazonaws.com" || aws.ToString(out.Provider) != prov.ARN() {
		t.Errorf("subject %q audience %q provider %q", aws.ToString(out.SubjectFromWebIdentityToken), aws.ToString(out.Audience), aws.ToString(out.Provider))
	}
	s, err := f.issuer.Open(aws.ToString(out.Credentials.SessionToken))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Tags) != 1 || s.Tags[0] != (sts.Tag{Key: "repo", Value: "demo"}) || s.Provider != prov.ARN() {
		t.Errorf("session tags %v provider %q", s.Tags, s.Provider)
	}

	for name, tc := range map[string]struct {
		sub, aud []string
		code     string
	}{
		"WrongSubject":  {[]string{"repo:other/main"}, []string{"sts.amazonaws.com"}, sts.CodeAccessDenied},
		"WrongAudience": {[]string{"repo:demo/main"}, []string{"someone-else"}, sts.CodeInvalidIdentityToken},
	} {
		t.Run(name, func(t *testing.T) {
			tok, err := idp.Token(tc.sub[0], tc.aud, time.Hour, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.anonymous().AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
				RoleArn: aws.String(role.ARN()), RoleSessionName: aws.String("x1"), WebIdentityToken: aws.String(tok),
			})
			if code, msg := apiError(err); code != tc.code {
				t.Errorf("AssumeRoleWithWebIdentity = %v, want %s", err, tc.code)
			} else if code == sts.CodeAccessDenied && !strings.HasPrefix(msg, "Not authorized to perform sts:AssumeRoleWithWebIdentity") {
				t.Errorf("message = %q", msg)
			}
		})
	}
	t.Run("Expired", func(t *testing.T) {
		f.clock.Advance(2 * time.Hour)
		defer f.clock.Advance(-2 * time.Hour)
		_, err := f.anonymous().AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(role.ARN()), RoleSessionName: aws.String("x1"), WebIdentityToken: aws.String(token),
		})
		if code, _ := apiError(err); code != sts.CodeExpiredTokenException {
			t.Errorf("expired token = %v, want ExpiredTokenException", err)
		}
	})
}

func TestServer_AssumeRoleWithSAML(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	key := rsaKey(t)
	cert, err := federation.SelfSignedCertificate(key, "imdsemu test IdP", f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	idp, err := federation.NewSAMLIdP("https://idp.example.test/saml", key, cert, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := f.store.PutSAMLProvider(ctx, rolestore.SAMLProvider{AccountID: acct, Name: "corp", MetadataXML: string(idp.Metadata())})
	if err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + prov.ARN() + `"},
	 "Action":["sts:AssumeRoleWithSAML","sts:TagSession"],
	 "Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}`
	role, err := f.store.PutRole(ctx, rolestore.Role{AccountID: acct, Name: "sso", TrustPolicy: trust})
	if err != nil {
		t.Fatal(err)
	}
	assertion, err := idp.Assertion(federation.AssertionRequest{
		Roles:       []federation.SAMLRole{{RoleARN: role.ARN(), PrincipalARN: prov.ARN()}},
		SessionName: "alice@example.com", Tags: map[string]string{"dept": "eng"},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.anonymous().AssumeRoleWithSAML(ctx, &awssts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(role.ARN()), PrincipalArn: aws.String(prov.ARN()), SAMLAssertion: aws.String(assertion),
	})
	if err != nil {
		t.Fatalf("AssumeRoleWithSAML() = %v", err)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::123456789012:assumed-role/sso/alice@example.com" {
		t.Errorf("Arn = %q", got)
	}
	if aws.ToString(out.Issuer) != "https://idp.example.test/saml" || aws.ToString(out.Subject) != "alice@example.com" ||
		aws.ToString(out.SubjectType) != "persistent" || aws.ToString(out.NameQualifier) == "" {
		t.Errorf("issuer %q subject %q type %q qualifier %q", aws.ToString(out.Issuer), aws.ToString(out.Subject), aws.ToString(out.SubjectType), aws.ToString(out.NameQualifier))
	}
	// An assertion that does not name the role, and a wrong provider.
	other, err := idp.Assertion(federation.AssertionRequest{
		Roles:       []federation.SAMLRole{{RoleARN: "arn:aws:iam::123456789012:role/web", PrincipalARN: prov.ARN()}},
		SessionName: "alice@example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.anonymous().AssumeRoleWithSAML(ctx, &awssts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(role.ARN()), PrincipalArn: aws.String(prov.ARN()), SAMLAssertion: aws.String(other),
	})
	if code, _ := apiError(err); code != sts.CodeAccessDenied {
		t.Errorf("assertion without the role = %v, want AccessDenied", err)
	}
	_, err = f.anonymous().AssumeRoleWithSAML(ctx, &awssts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(role.ARN()), PrincipalArn: aws.String("arn:aws:iam::123456789012:saml-provider/nope"), SAMLAssertion: aws.String(assertion),
	})
	if code, _ := apiError(err); code != sts.CodeInvalidIdentityToken {
		t.Errorf("unknown provider = %v, want InvalidIdentityToken", err)
	}
}
