package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imdsemu/imdsemu/rolestore"
)

func TestGroupAndManagedPolicyCmds(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		out, err := runStoreCmd(t, dir, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out
	}
	fails := func(code string, args ...string) {
		t.Helper()
		if _, err := runStoreCmd(t, dir, args...); rolestore.Code(err) != code {
			t.Errorf("%v = %v, want %s", args, err, code)
		}
	}
	doc := filepath.Join(dir, "s3.json")
	if err := os.WriteFile(doc, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := run("group", "create", "readers"); !strings.HasPrefix(out, "arn:aws:iam::123456789012:group/readers\tAGPA") {
		t.Errorf("group create printed %q", out)
	}
	fails(rolestore.CodeEntityAlreadyExists, "group", "create", "Readers")
	if out := run("managed-policy", "create", "ReadS3", doc, "--path", "/team/"); !strings.HasPrefix(out, "arn:aws:iam::123456789012:policy/team/ReadS3\tANPA") {
		t.Errorf("managed-policy create printed %q", out)
	}
	run("managed-policy", "attach", "arn:aws:iam::123456789012:policy/team/ReadS3", "--group", "readers")
	run("managed-policy", "attach", "arn:aws:iam::aws:policy/ReadOnlyAccess", "--group", "readers")
	fails(rolestore.CodeNoSuchEntity, "managed-policy", "attach", "arn:aws:iam::aws:policy/NoSuchPolicy", "--group", "readers")
	if _, err := runStoreCmd(t, dir, "managed-policy", "attach", "arn:aws:iam::aws:policy/ReadOnlyAccess", "--group", "readers", "--user", "x"); err == nil {
		t.Error("attach to two targets succeeded")
	}
	run("user", "create", "carol")
	run("group", "add-user", "readers", "carol")
	for i := range 10 {
		run("group", "create", fmt.Sprintf("g%d", i))
	}
	for i := range 9 {
		run("group", "add-user", fmt.Sprintf("g%d", i), "carol")
	}
	fails(rolestore.CodeLimitExceeded, "group", "add-user", "g9", "carol")
	// row returns the fields of the line of out that starts with first.
	row := func(out, first string) string {
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == first {
				return strings.Join(append(f[:1:1], f[2:]...), " ") // without the ID column
			}
		}
		return ""
	}
	if out := run("group", "list"); row(out, "readers") != "readers 1 0 2" {
		t.Errorf("group list (name, members, inline, attached):\n%s", out)
	}
	out := run("managed-policy", "list")
	if row(out, "arn:aws:iam::123456789012:policy/team/ReadS3") != "arn:aws:iam::123456789012:policy/team/ReadS3 1" ||
		!strings.Contains(out, "arn:aws:iam::aws:policy/job-function/Billing") {
		t.Errorf("managed-policy list:\n%s", out)
	}
	fails(rolestore.CodeDeleteConflict, "group", "delete", "readers")
	run("group", "remove-user", "readers", "carol")
	run("managed-policy", "detach", "arn:aws:iam::123456789012:policy/team/ReadS3", "--group", "readers")
	run("managed-policy", "detach", "arn:aws:iam::aws:policy/ReadOnlyAccess", "--group", "readers")
	run("group", "delete", "readers")
}
