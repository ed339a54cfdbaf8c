package sts_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/imdsemu/imdsemu/federation"
	"github.com/imdsemu/imdsemu/rolestore"
)

// wellKnownTrust trusts provider when key (PROVIDER:aud, …:app_id) is value
// and, when amr is set, the token's amr includes it.
func wellKnownTrust(provider, key, value, amr string) string {
	cond := `"StringEquals":{"` + provider + `:` + key + `":"` + value + `"}`
	if amr != "" {
		cond += `,"ForAnyValue:StringLike":{"` + provider + `:amr":"` + amr + `"}`
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},
	 "Action":"sts:AssumeRoleWithWebIdentity","Condition":{` + cond + `}}]}`
}

func TestServer_WellKnownWebIdentities(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	roles := map[string]string{
		federation.ProviderGoogle:   wellKnownTrust(federation.ProviderGoogle, "aud", "app.apps.googleusercontent.com", ""),
		federation.ProviderCognito:  wellKnownTrust(federation.ProviderCognito, "aud", "us-east-1:pool", "authenticated"),
		federation.ProviderFacebook: wellKnownTrust(federation.ProviderFacebook, "app_id", "1234567890", ""),
		federation.ProviderAmazon:   wellKnownTrust(federation.ProviderAmazon, "app_id", "amzn1.application-oa2-client.abc", ""),
	}
	arn := map[string]string{}
	for p, trust := range roles {
		name := strings.ReplaceAll(p, ".", "-")
		r, err := f.store.PutRole(ctx, rolestore.Role{AccountID: acct, Name: name, TrustPolicy: trust})
		if err != nil {
			t.Fatal(err)
		}
		arn[p] = r.ARN()
	}
	idToken := func(p, sub, aud string, ttl time.Duration, extra map[string]any) string {
		tok, err := f.web.IDToken(p, sub, []string{aud}, ttl, extra)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	accessToken := func(p, app, user string, ttl time.Duration) string {
		tok, err := f.web.AccessToken(p, app, user, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	google := idToken(federation.ProviderGoogle, "110169484474386276334", "app.apps.googleusercontent.com", time.Hour, nil)
	facebook := accessToken(federation.ProviderFacebook, "1234567890", "fb-user-1", time.Hour)
	cases := []struct {
		name, provider, providerID, token string
		wantSubject, wantAudience, code   string
	}{
		{"Google", federation.ProviderGoogle, "", google, "110169484474386276334", "app.apps.googleusercontent.com", ""},
		{"GoogleAzp", federation.ProviderGoogle, "", idToken(federation.ProviderGoogle, "1101", "other-client", time.Hour,
			map[string]any{"azp": "app.apps.googleusercontent.com"}), "1101", "app.apps.googleusercontent.com", ""},
		{"Cognito", federation.ProviderCognito, "", idToken(federation.ProviderCognito, "us-east-1:identity", "us-east-1:pool", time.Hour, nil),
			"us-east-1:identity", "us-east-1:pool", ""},
		{"Facebook", federation.ProviderFacebook, federation.ProviderFacebook, facebook, "fb-user-1", "1234567890", ""},
		{"Amazon", federation.ProviderAmazon, federation.ProviderAmazon,
			accessToken(federation.ProviderAmazon, "amzn1.application-oa2-client.abc", "amzn1.account.XYZ", time.Hour),
			"amzn1.account.XYZ", "amzn1.application-oa2-client.abc", ""},

		{"GoogleWrongAud", federation.ProviderGoogle, "", idToken(federation.ProviderGoogle, "1", "evil.apps.googleusercontent.com", time.Hour, nil), "", "", "AccessDenied"},
		{"CognitoUnauthenticated", federation.ProviderCognito, "", idToken(federation.ProviderCognito, "us-east-1:i", "us-east-1:pool", time.Hour,
			map[string]any{"amr": []string{"unauthenticated"}}), "", "", "AccessDenied"},
		{"FacebookWrongApp", federation.ProviderFacebook, federation.ProviderFacebook, accessToken(federation.ProviderFacebook, "999", "u", time.Hour), "", "", "AccessDenied"},
		{"AmazonWrongApp", federation.ProviderAmazon, federation.ProviderAmazon, accessToken(federation.ProviderAmazon, "amzn1.other", "u", time.Hour), "", "", "AccessDenied"},
		{"GoogleTokenForFacebookRole", federation.ProviderFacebook, "", google, "", "", "AccessDenied"},
		{"FacebookTokenAsAmazon", federation.ProviderAmazon, federation.ProviderAmazon, facebook, "", "", "InvalidIdentityToken"},
		{"AccessTokenWithoutProviderId", federation.ProviderFacebook, "", facebook, "", "", "InvalidIdentityToken"},
		{"IDTokenWithProviderId", federation.ProviderGoogle, federation.ProviderFacebook, google, "", "", "InvalidIdentityToken"},
		{"UnknownProviderId", federation.ProviderGoogle, "api.twitter.com", google, "", "", "InvalidIdentityToken"},
		{"GoogleExpired", federation.ProviderGoogle, "", idToken(federation.ProviderGoogle, "1", "app.apps.googleusercontent.com", -time.Minute, nil), "", "", "ExpiredTokenException"},
		{"FacebookExpired", federation.ProviderFacebook, federation.ProviderFacebook, accessToken(federation.ProviderFacebook, "1234567890", "u", -time.Minute), "", "", "ExpiredTokenException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := &awssts.AssumeRoleWithWebIdentityInput{
				RoleArn: aws.String(arn[tc.provider]), RoleSessionName: aws.String("web"), WebIdentityToken: aws.String(tc.token),
			}
			if tc.providerID != "" {
				in.ProviderId = aws.String(tc.providerID)
			}
			out, err := f.anonymous().AssumeRoleWithWebIdentity(ctx, in)
			if tc.code != "" {
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
					t.Fatalf("err = %v, want %s", err, tc.code)
				}
				if tc.code == "AccessDenied" && !strings.HasPrefix(ae.ErrorMessage(), "Not authorized to perform sts:AssumeRoleWithWebIdentity") {
					t.Errorf("message = %q", ae.ErrorMessage())
				}
				if strings.Contains(ae.ErrorMessage(), tc.token) {
					t.Error("the error message contains the token")
				}
				return
			}
			if err != nil {
				t.Fatalf("AssumeRoleWithWebIdentity() = %v", err)
			}
			if got := aws.ToString(out.Provider); got != tc.provider {
				t.Errorf("Provider = %q, want %q", got, tc.provider)
			}
			if got := aws.ToString(out.SubjectFromWebIdentityToken); got != tc.wantSubject {
				t.Errorf("SubjectFromWebIdentityToken = %q, want %q", got, tc.wantSubject)
			}
			if got := aws.ToString(out.Audience); got != tc.wantAudience {
				t.Errorf("Audience = %q, want %q", got, tc.wantAudience)
			}
			s, err := f.issuer.Open(aws.ToString(out.Credentials.SessionToken))
			if err != nil {
				t.Fatal(err)
			}
			if s.Provider != tc.provider {
				t.Errorf("session provider = %q", s.Provider)
			}
		})
	}
}

// A registered IAM OIDC provider for accounts.google.com is used instead of
// the well-known one: its client IDs are checked.
func TestServer_WellKnownYieldsToRegisteredProvider(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	prov, err := f.store.PutOIDCProvider(ctx, rolestore.OIDCProvider{AccountID: acct, URL: "https://accounts.google.com",
		ClientIDs: []string{"registered-client"}, JWKS: string(f.web.Providers()[0].JWKS)})
	if err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + prov.ARN() + `"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`
	role, err := f.store.PutRole(ctx, rolestore.Role{AccountID: acct, Name: "google-registered", TrustPolicy: trust})
	if err != nil {
		t.Fatal(err)
	}
	for aud, code := range map[string]string{"registered-client": "", "other-client": "InvalidIdentityToken"} {
		tok, err := f.web.IDToken(federation.ProviderGoogle, "1", []string{aud}, time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := f.anonymous().AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(role.ARN()), RoleSessionName: aws.String("gg"), WebIdentityToken: aws.String(tok)})
		var ae smithy.APIError
		switch {
		case code == "" && err != nil:
			t.Errorf("aud %s: %v", aud, err)
		case code == "" && aws.ToString(out.Provider) != prov.ARN():
			t.Errorf("aud %s: Provider = %q, want %q", aud, aws.ToString(out.Provider), prov.ARN())
		case code != "" && (!errors.As(err, &ae) || ae.ErrorCode() != code):
			t.Errorf("aud %s: err = %v, want %s", aud, err, code)
		}
	}
}
