package config_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/rolestore"
)

// Groups, customer managed policies, attachments and boundaries from the
// config file reach the store.
func TestParse_GroupsAndManagedPolicies(t *testing.T) {
	f, err := config.Parse("iam.yaml", yamlLines(
		"managed-policies:",
		"  - name: ReadS3",
		"    path: /team/",
		"    document: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: 's3:Get*', Resource: '*'}]}",
		"groups:",
		"  - name: readers",
		"    managed-policies: [arn:aws:iam::123456789012:policy/team/ReadS3]",
		"    policies:",
		"      list: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: 's3:List*', Resource: '*'}]}",
		"users:",
		"  - name: carol",
		"    groups: [readers]",
		"    managed-policies: [arn:aws:iam::aws:policy/IAMUserChangePassword]",
		"    permissions-boundary: arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
	))
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	ctx := context.Background()
	s, err := rolestore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "imdsemu.db"), rolestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 2; i++ { // serve applies the config at every start
		if err := s.Apply(ctx, f.Seed); err != nil {
			t.Fatalf("Apply #%d = %v", i+1, err)
		}
	}
	u, perm, err := s.UserPermissions(ctx, "123456789012", "carol")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range perm.Policies {
		names = append(names, p.Name)
	}
	want := []string{"arn:aws:iam::aws:policy/IAMUserChangePassword", "group/readers:inline:list", "group/readers:arn:aws:iam::123456789012:policy/team/ReadS3"}
	if !slices.Equal(names, want) || perm.Boundary == nil || u.PermissionsBoundary != "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess" {
		t.Errorf("carol: policies %q, boundary %+v", names, perm.Boundary)
	}
	if p, err := s.Policy(ctx, "arn:aws:iam::123456789012:policy/team/ReadS3"); err != nil || p.DefaultVersionID != "v1" {
		t.Errorf("ReadS3 after two applies = %+v, %v (an unchanged document makes no version)", p, err)
	}
}

func TestParse_IAMErrors(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"group without name", "bad.yaml:2:5: groups[0].name: is required"},
		{"bad group name", `bad.yaml:2:11: groups[0].name: must match [\w+=,.@-]{1,128}, got "a b"`},
		{"bad managed policy ARN", `bad.yaml:3:23: users[0].managed-policies: "arn:aws:s3:::bucket" is not a managed policy ARN (arn:aws:iam::ACCOUNT:policy/PATH/NAME)`},
		{"policy without Statement", "bad.yaml:3:15: managed-policies[0].document: The policy document must have a \"Statement\"."},
		{"empty policy document", `bad.yaml:3:15: managed-policies[0].document: is required`}, // as an empty trust-policy is
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := map[string][]byte{
				"group without name":       yamlLines("groups:", "  - path: /"),
				"bad group name":           yamlLines("groups:", "  - name: a b"),
				"bad managed policy ARN":   yamlLines("users:", "  - name: a", "    managed-policies: [arn:aws:s3:::bucket]"),
				"policy without Statement": yamlLines("managed-policies:", "  - name: p", "    document: {Version: 2012-10-17}"),
				"empty policy document":    yamlLines("managed-policies:", "  - name: p", `    document: ""`),
			}[tc.name]
			_, err := config.Parse("bad.yaml", data)
			var e *config.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse() = %v, want *config.Error", err)
			}
			if got := e.Error(); got != tc.want {
				t.Errorf("Parse() first error = %q\nwant %q", got, tc.want)
			}
		})
	}
}
