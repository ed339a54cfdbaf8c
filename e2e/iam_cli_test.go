package e2e

import (
	"encoding/base64"
	"encoding/csv"
	"strings"
	"testing"
)

// TestIAM_AWSCLI_UsersAndKeys drives users, access keys and the credential
// report with Debian's AWS CLI: an administrator creates a user and a key,
// the key works against STS, deactivating it stops it, a user without
// policies is denied with IAM's message, and the credential report lists
// the users and their keys.
func TestIAM_AWSCLI_UsersAndKeys(t *testing.T) {
	w := startIAMWorld(t)
	admin := w.profile(t, "admin")
	nobody := w.profile(t, "nobody")

	doc := w.iamOK(t, admin, "create-user", "--user-name", "carol", "--path", "/staff/", "--tags", "Key=team,Value=web")
	if field(doc, "User", "Arn") != "arn:aws:iam::123456789012:user/staff/carol" || !strings.HasPrefix(field(doc, "User", "UserId"), "AIDA") {
		t.Fatalf("create-user = %v", doc)
	}
	w.iamFails(t, admin, "An error occurred (EntityAlreadyExists) when calling the CreateUser operation: User with name carol already exists.",
		"create-user", "--user-name", "carol")
	w.iamFails(t, admin, "An error occurred (NoSuchEntity) when calling the GetUser operation: The user with name dave cannot be found.",
		"get-user", "--user-name", "dave")
	w.iamFails(t, nobody, "An error occurred (AccessDenied) when calling the CreateUser operation: User: arn:aws:iam::123456789012:user/nobody is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::123456789012:user/dave because no identity-based policy allows the iam:CreateUser action",
		"create-user", "--user-name", "dave")
	w.iamFails(t, admin, "An error occurred (ValidationError) when calling the CreateUser operation: 1 validation error detected: Value 'no spaces' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+",
		"create-user", "--user-name", "no spaces")

	// The STS listener serves IAM too, told apart by the signature's scope.
	if doc, stderr, err := w.cli(t, admin, w.sts, "iam", "get-user", "--user-name", "carol"); err != nil || field(doc, "User", "Path") != "/staff/" {
		t.Errorf("get-user on the STS listener = %v, %v\n%s", doc, err, stderr)
	}
	doc = w.iamOK(t, admin, "list-users")
	users, _ := doc["Users"].([]any)
	if len(users) != 3 {
		t.Errorf("list-users = %d users, want admin, carol, nobody: %v", len(users), doc)
	}

	key := w.iamOK(t, admin, "create-access-key", "--user-name", "carol")
	id, secret := field(key, "AccessKey", "AccessKeyId"), field(key, "AccessKey", "SecretAccessKey")
	if !strings.HasPrefix(id, "AKIA") || len(secret) != 40 || field(key, "AccessKey", "Status") != "Active" {
		t.Fatalf("create-access-key = key %q, %d-character secret", id, len(secret))
	}
	carol := keyEnv(id, secret)
	if doc, stderr, err := w.cli(t, carol, w.sts, "sts", "get-caller-identity"); err != nil || field(doc, "Arn") != "arn:aws:iam::123456789012:user/staff/carol" {
		t.Fatalf("get-caller-identity with the new key = %v, %v\n%s", doc, err, stderr)
	}
	doc = w.iamOK(t, admin, "list-access-keys", "--user-name", "carol")
	if field(doc, "AccessKeyMetadata", "0", "AccessKeyId") != id {
		t.Errorf("list-access-keys = %v", doc)
	}
	w.iamFails(t, admin, "An error occurred (DeleteConflict) when calling the DeleteUser operation: Cannot delete entity, must delete access keys first.",
		"delete-user", "--user-name", "carol")

	// The credential report lists the root user and every user, with keys.
	w.iamOK(t, admin, "generate-credential-report")
	doc = w.iamOK(t, admin, "get-credential-report")
	content, err := base64.StdEncoding.DecodeString(field(doc, "Content"))
	if err != nil {
		// The CLI prints blobs base64-encoded.
		t.Fatalf("get-credential-report Content: %v", err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(content))).ReadAll()
	if err != nil || len(rows) != 5 || rows[0][0] != "user" || rows[0][8] != "access_key_1_active" || rows[1][0] != "<root_account>" {
		t.Fatalf("credential report = %v, %v", rows, err)
	}
	for _, r := range rows[2:] {
		if r[0] == "carol" && (r[8] != "true" || !strings.HasSuffix(r[9], "+00:00") || r[13] != "false") {
			t.Errorf("carol's row = %v, want one active key with its creation time", r)
		}
	}

	w.iamOK(t, admin, "update-access-key", "--user-name", "carol", "--access-key-id", id, "--status", "Inactive")
	if _, stderr, err := w.cli(t, carol, w.sts, "sts", "get-caller-identity"); err == nil || !strings.Contains(stderr, "InvalidClientTokenId") {
		t.Errorf("get-caller-identity with the deactivated key = %v\n%s", err, stderr)
	}
	w.iamOK(t, admin, "delete-access-key", "--user-name", "carol", "--access-key-id", id)
	w.iamOK(t, admin, "delete-user", "--user-name", "carol")
	w.iamFails(t, admin, "(NoSuchEntity)", "get-user", "--user-name", "carol")
}
