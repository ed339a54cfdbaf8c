package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestIAM_AWSCLI_GroupPolicySimulate is issue #14's story with the AWS CLI:
// an administrator creates a group, a customer managed policy and a user,
// attaches the policy to the group and adds the user; simulate-principal-policy
// and the user's real IAM and STS calls agree on what is allowed; attaching
// the AWS managed AdministratorAccess to the group opens STS to the user,
// detaching it closes it again.
func TestIAM_AWSCLI_GroupPolicySimulate(t *testing.T) {
	w := startIAMWorld(t)
	admin := w.profile(t, "admin")

	w.iamOK(t, admin, "create-group", "--group-name", "readers")
	doc := w.iamOK(t, admin, "create-policy", "--policy-name", "iam-read", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}]}`)
	policyARN := field(doc, "Policy", "Arn")
	if policyARN != "arn:aws:iam::123456789012:policy/iam-read" || field(doc, "Policy", "DefaultVersionId") != "v1" {
		t.Fatalf("create-policy = %v", doc)
	}
	w.iamOK(t, admin, "attach-group-policy", "--group-name", "readers", "--policy-arn", policyARN)
	w.iamOK(t, admin, "create-user", "--user-name", "dana")
	w.iamOK(t, admin, "add-user-to-group", "--group-name", "readers", "--user-name", "dana")
	doc = w.iamOK(t, admin, "get-group", "--group-name", "readers")
	if field(doc, "Users", "0", "UserName") != "dana" {
		t.Errorf("get-group = %v", doc)
	}
	doc = w.iamOK(t, admin, "list-attached-group-policies", "--group-name", "readers")
	if field(doc, "AttachedPolicies", "0", "PolicyArn") != policyARN {
		t.Errorf("list-attached-group-policies = %v", doc)
	}
	key := w.iamOK(t, admin, "create-access-key", "--user-name", "dana")
	dana := keyEnv(field(key, "AccessKey", "AccessKeyId"), field(key, "AccessKey", "SecretAccessKey"))

	danaARN := "arn:aws:iam::123456789012:user/dana"
	simulate := func(t *testing.T) map[string]string {
		t.Helper()
		doc := w.iamOK(t, admin, "simulate-principal-policy", "--policy-source-arn", danaARN,
			"--action-names", "iam:ListUsers", "iam:CreateUser", "sts:DecodeAuthorizationMessage")
		got := map[string]string{}
		results, _ := doc["EvaluationResults"].([]any)
		for _, r := range results {
			m, _ := r.(map[string]any)
			got[field(m, "EvalActionName")] = field(m, "EvalDecision")
		}
		return got
	}
	if got := simulate(t); got["iam:ListUsers"] != "allowed" || got["iam:CreateUser"] != "implicitDeny" || got["sts:DecodeAuthorizationMessage"] != "implicitDeny" {
		t.Errorf("simulate with iam-read = %v", got)
	}
	// Dana's real calls agree.
	if doc, stderr, err := w.cli(t, dana, w.iam, "iam", "list-users"); err != nil || len(doc["Users"].([]any)) != 3 {
		t.Errorf("dana list-users = %v, %v\n%s", doc, err, stderr)
	}
	w.iamFails(t, dana, "An error occurred (AccessDenied) when calling the CreateUser operation: User: arn:aws:iam::123456789012:user/dana is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::123456789012:user/eve because no identity-based policy allows the iam:CreateUser action",
		"create-user", "--user-name", "eve")
	decode := func() string {
		_, stderr, _ := w.cli(t, dana, w.sts, "sts", "decode-authorization-message", "--encoded-message", "not-a-message")
		return stderr
	}
	if stderr := decode(); !strings.Contains(stderr, "(AccessDenied)") || !strings.Contains(stderr, "sts:DecodeAuthorizationMessage") {
		t.Errorf("dana decode-authorization-message under iam-read: %s", stderr)
	}

	// AdministratorAccess on the group: STS lets dana through (the message
	// itself is bogus, so the answer is InvalidAuthorizationMessageException).
	admARN := "arn:aws:iam::aws:policy/AdministratorAccess"
	w.iamOK(t, admin, "attach-group-policy", "--group-name", "readers", "--policy-arn", admARN)
	if got := simulate(t); got["iam:CreateUser"] != "allowed" || got["sts:DecodeAuthorizationMessage"] != "allowed" {
		t.Errorf("simulate with AdministratorAccess = %v", got)
	}
	// Root-only tasks stay denied to every IAM user, AdministratorAccess or
	// not; the root user may.
	doc = w.iamOK(t, admin, "simulate-principal-policy", "--policy-source-arn", danaARN, "--action-names", "account:CloseAccount")
	if field(doc, "EvaluationResults", "0", "EvalDecision") != "implicitDeny" {
		t.Errorf("simulate account:CloseAccount for dana under AdministratorAccess = %v", doc)
	}
	admDoc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	for caller, want := range map[string]string{danaARN: "implicitDeny", "arn:aws:iam::123456789012:root": "allowed"} {
		doc = w.iamOK(t, admin, "simulate-custom-policy", "--policy-input-list", admDoc, "--action-names", "account:CloseAccount", "--caller-arn", caller)
		if got := field(doc, "EvaluationResults", "0", "EvalDecision"); got != want {
			t.Errorf("simulate-custom-policy account:CloseAccount as %s = %s, want %s", caller, got, want)
		}
	}
	if stderr := decode(); !strings.Contains(stderr, "InvalidAuthorizationMessageException") {
		t.Errorf("dana decode-authorization-message under AdministratorAccess: %s", stderr)
	}
	w.iamOK(t, admin, "detach-group-policy", "--group-name", "readers", "--policy-arn", admARN)
	if stderr := decode(); !strings.Contains(stderr, "(AccessDenied)") {
		t.Errorf("dana decode-authorization-message after the detach: %s", stderr)
	}

	// The group cannot go while it has members and policies.
	w.iamFails(t, admin, "(DeleteConflict)", "delete-group", "--group-name", "readers")
	doc = w.iamOK(t, admin, "get-account-authorization-details", "--filter", "Group", "LocalManagedPolicy")
	if field(doc, "GroupDetailList", "0", "GroupName") != "readers" || field(doc, "Policies", "0", "PolicyName") != "iam-read" {
		t.Errorf("get-account-authorization-details = %v", doc)
	}
}

// TestIAM_AWSCLI_InstanceProfileServedByIMDS adds a role made through the
// API to the instance's profile with the AWS CLI, and the metadata service
// serves its credentials at once; removing it empties the credential path.
func TestIAM_AWSCLI_InstanceProfileServedByIMDS(t *testing.T) {
	w := startIAMWorld(t)
	admin := w.profile(t, "admin")
	if code, _, _ := w.e.do(t, http.MethodGet, "/latest/meta-data/iam/security-credentials/", nil); code != http.StatusNotFound {
		t.Fatalf("credentials before a role = %d, want 404", code)
	}
	w.iamOK(t, admin, "create-role", "--role-name", "api", "--assume-role-policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	w.iamOK(t, admin, "put-role-policy", "--role-name", "api", "--policy-name", "read", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}]}`)
	w.iamOK(t, admin, "add-role-to-instance-profile", "--instance-profile-name", "web", "--role-name", "api")
	doc := w.iamOK(t, admin, "get-instance-profile", "--instance-profile-name", "web")
	if field(doc, "InstanceProfile", "Roles", "0", "RoleName") != "api" {
		t.Errorf("get-instance-profile = %v", doc)
	}
	w.iamFails(t, admin, "(LimitExceeded)", "add-role-to-instance-profile", "--instance-profile-name", "web", "--role-name", "app")

	// The first generation is minted in the background: wait for it.
	deadline := time.Now().Add(60 * time.Second)
	var code int
	var body string
	for time.Now().Before(deadline) {
		code, _, body = w.e.do(t, http.MethodGet, "/latest/meta-data/iam/security-credentials/", nil)
		if code == http.StatusOK {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code != http.StatusOK || strings.TrimSpace(body) != "api" {
		t.Fatalf("security-credentials/ after add-role-to-instance-profile = %d %q, want api", code, body)
	}
	code, _, body = w.e.do(t, http.MethodGet, "/latest/meta-data/iam/security-credentials/api", nil)
	if code != http.StatusOK || !strings.Contains(body, `"AccessKeyId" : "ASIA`) && !strings.Contains(body, `"AccessKeyId": "ASIA`) {
		t.Fatalf("security-credentials/api = %d (%d bytes)", code, len(body))
	}
	w.iamFails(t, admin, "(DeleteConflict)", "delete-instance-profile", "--instance-profile-name", "web")
	w.iamOK(t, admin, "remove-role-from-instance-profile", "--instance-profile-name", "web", "--role-name", "api")
	if code, _, _ := w.e.do(t, http.MethodGet, "/latest/meta-data/iam/security-credentials/", nil); code != http.StatusNotFound {
		t.Errorf("credentials after remove-role-from-instance-profile = %d, want 404", code)
	}
}
