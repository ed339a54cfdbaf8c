package sts_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/imdsemu/imdsemu/rolestore"
)

const (
	allowAssumeRole = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`
	denyAssumeRole  = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}]}`
	allowCaller     = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}`
	adminPolicyARN  = "arn:aws:iam::aws:policy/AdministratorAccess"
)

// bobAssumesDelegated has bob assume "delegated", whose trust policy trusts
// the account: bob's own effective permissions decide (IAM User Guide,
// "Policy evaluation logic": a trust policy naming the account needs an
// identity-based policy allowing sts:AssumeRole too).
func (f *fixture) bobAssumesDelegated(t *testing.T) (string, string) {
	t.Helper()
	_, err := f.client(longTerm(bobKeyID, bobSec)).AssumeRole(context.Background(), &awssts.AssumeRoleInput{
		RoleArn: aws.String(f.roles["delegated"].ARN()), RoleSessionName: aws.String("bob"), ExternalId: aws.String("ticket-42"),
	})
	if err == nil {
		return "", ""
	}
	code, msg := apiError(err)
	if code == "" {
		t.Fatalf("AssumeRole = %v", err)
	}
	return code, msg
}

// A user's effective permissions are its own policies plus its groups'
// (inline and attached managed), under its permissions boundary; an
// explicit Deny anywhere wins. Every change through the store applies to
// the next request.
func TestEffective_UserGroupsManagedBoundary(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	s := f.store
	if code, _ := f.bobAssumesDelegated(t); code != "AccessDenied" {
		t.Fatalf("bob with no policies: %q, want AccessDenied", code)
	}

	// A group's inline policy.
	if _, err := s.PutGroup(ctx, rolestore.Group{AccountID: acct, Name: "ops", Policies: map[string]string{"assume": allowAssumeRole}}); err != nil {
		t.Fatal(err)
	}
	if code, _ := f.bobAssumesDelegated(t); code != "AccessDenied" {
		t.Fatalf("bob outside ops: %q, want AccessDenied", code)
	}
	if err := s.AddUserToGroup(ctx, acct, "ops", "bob"); err != nil {
		t.Fatal(err)
	}
	if code, msg := f.bobAssumesDelegated(t); code != "" {
		t.Fatalf("bob in ops (group inline policy): %s %s", code, msg)
	}

	// A customer managed policy attached to a group.
	if err := s.DeleteGroupPolicy(ctx, acct, "ops", "assume"); err != nil {
		t.Fatal(err)
	}
	if code, _ := f.bobAssumesDelegated(t); code != "AccessDenied" {
		t.Fatalf("ops without policies: %q, want AccessDenied", code)
	}
	p, err := s.CreatePolicy(ctx, rolestore.ManagedPolicy{AccountID: acct, Name: "Assume", Document: allowAssumeRole})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AttachGroupPolicy(ctx, acct, "ops", p.ARN()); err != nil {
		t.Fatal(err)
	}
	if code, msg := f.bobAssumesDelegated(t); code != "" {
		t.Fatalf("ops with an attached managed policy: %s %s", code, msg)
	}
	// A new default version is in force at once.
	if _, err := s.CreatePolicyVersion(ctx, p.ARN(), allowCaller, true); err != nil {
		t.Fatal(err)
	}
	if code, _ := f.bobAssumesDelegated(t); code != "AccessDenied" {
		t.Fatalf("after v2 (no AssumeRole) became the default: %q, want AccessDenied", code)
	}
	if err := s.SetDefaultPolicyVersion(ctx, p.ARN(), "v1"); err != nil {
		t.Fatal(err)
	}

	// A permissions boundary that does not allow the action: implicit deny
	// (IAM User Guide, "Permissions boundaries for IAM entities").
	b, err := s.CreatePolicy(ctx, rolestore.ManagedPolicy{AccountID: acct, Name: "OnlyCaller", Document: allowCaller})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserPermissionsBoundary(ctx, acct, "bob", b.ARN()); err != nil {
		t.Fatal(err)
	}
	code, msg := f.bobAssumesDelegated(t)
	if code != "AccessDenied" {
		t.Fatalf("bounded bob: %q, want AccessDenied", code)
	}
	if err := s.SetUserPermissionsBoundary(ctx, acct, "bob", adminPolicyARN); err != nil {
		t.Fatal(err)
	}
	if code, msg = f.bobAssumesDelegated(t); code != "" {
		t.Fatalf("bob bounded by AdministratorAccess: %s %s", code, msg)
	}

	// An explicit Deny in another group's policy wins over every Allow.
	if _, err := s.PutGroup(ctx, rolestore.Group{AccountID: acct, Name: "quarantine", Policies: map[string]string{"deny": denyAssumeRole}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUserToGroup(ctx, acct, "quarantine", "bob"); err != nil {
		t.Fatal(err)
	}
	if code, msg = f.bobAssumesDelegated(t); code != "AccessDenied" || !f.explicitDeny(t, msg) {
		t.Fatalf("bob in quarantine: %s, want an explicit deny", code)
	}
	if err := s.RemoveUserFromGroup(ctx, acct, "quarantine", "bob"); err != nil {
		t.Fatal(err)
	}
	// The user's own attached AWS managed policy.
	if err := s.RemoveUserFromGroup(ctx, acct, "ops", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := s.AttachUserPolicy(ctx, acct, "bob", adminPolicyARN); err != nil {
		t.Fatal(err)
	}
	if code, msg = f.bobAssumesDelegated(t); code != "" {
		t.Fatalf("bob with AdministratorAccess attached: %s %s", code, msg)
	}
}

// A role session's permissions include the role's attached managed policies.
func TestEffective_RoleAttachedPolicies(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	if _, err := f.store.PutRole(ctx, rolestore.Role{AccountID: acct, Name: "plain", TrustPolicy: trustAlice}); err != nil {
		t.Fatal(err)
	}
	out, err := f.client(longTerm(aliceKeyID, aliceSec)).AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/plain"), RoleSessionName: aws.String("session")})
	if err != nil {
		t.Fatal(err)
	}
	session := f.client(aws.Credentials{AccessKeyID: aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey), SessionToken: aws.ToString(out.Credentials.SessionToken)})
	decode := func() string {
		_, err := session.DecodeAuthorizationMessage(ctx, &awssts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String("not-a-message")})
		code, _ := apiError(err)
		return code
	}
	if code := decode(); code != "AccessDenied" {
		t.Fatalf("plain role without policies: %q, want AccessDenied", code)
	}
	if err := f.store.AttachRolePolicy(ctx, acct, "plain", adminPolicyARN); err != nil {
		t.Fatal(err)
	}
	if code := decode(); code != "InvalidAuthorizationMessageException" {
		t.Fatalf("plain role with AdministratorAccess: %q, want the message refused, not the caller", code)
	}
}

// Managed session policies (PolicyArns) must exist, as AWS managed
// policies or customer managed policies of the role's account.
func TestEffective_SessionPolicyARNsMustExist(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	if _, err := f.store.CreatePolicy(ctx, rolestore.ManagedPolicy{AccountID: otherAcct, Name: "Elsewhere", Document: allowCaller}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CreatePolicy(ctx, rolestore.ManagedPolicy{AccountID: acct, Name: "Here", Path: "/p/", Document: allowAssumeAll}); err != nil {
		t.Fatal(err)
	}
	alice := f.client(longTerm(aliceKeyID, aliceSec))
	assume := func(arn string) (string, string) {
		_, err := alice.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(f.roles["web"].ARN()), RoleSessionName: aws.String("session"),
			PolicyArns: []types.PolicyDescriptorType{{Arn: aws.String(arn)}}})
		return apiError(err)
	}
	for _, arn := range []string{"arn:aws:iam::aws:policy/NoSuchPolicy", "arn:aws:iam::123456789012:policy/nope",
		"arn:aws:iam::210987654321:policy/Elsewhere", "arn:aws:iam::123456789012:policy/Here"} {
		if code, msg := assume(arn); code != "MalformedPolicyDocument" || !strings.Contains(msg, arn) {
			t.Errorf("PolicyArns %s: %s %q, want MalformedPolicyDocument naming it", arn, code, msg)
		}
	}
	for _, arn := range []string{adminPolicyARN, "arn:aws:iam::aws:policy/job-function/Billing", "arn:aws:iam::123456789012:policy/p/Here"} {
		if code, msg := assume(arn); code != "" {
			t.Errorf("PolicyArns %s: %s %s, want success", arn, code, msg)
		}
	}
	_, err := alice.GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("fed"),
		PolicyArns: []types.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/NoSuchPolicy")}}})
	if code, _ := apiError(err); code != "MalformedPolicyDocument" {
		t.Errorf("GetFederationToken with an unknown policy ARN: %v", err)
	}
}

// explicitDeny decodes the authorization message in an AccessDenied
// message (as alice, who may) and reports whether a Deny decided.
func (f *fixture) explicitDeny(t *testing.T, msg string) bool {
	t.Helper()
	_, enc, ok := strings.Cut(msg, "Encoded authorization failure message: ")
	if !ok {
		t.Fatalf("no encoded message in %q", msg)
	}
	out, err := f.client(longTerm(aliceKeyID, aliceSec)).DecodeAuthorizationMessage(context.Background(),
		&awssts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String(enc)})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(aws.ToString(out.DecodedMessage), `"explicitDeny":true`)
}
