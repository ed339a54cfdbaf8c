package rolestore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/imdsemu/imdsemu/rolestore"
)

const (
	iamAcct   = "111122223333"
	allowAll  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	allowS3   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	adminARN  = "arn:aws:iam::aws:policy/AdministratorAccess"
	bogusARN  = "arn:aws:iam::aws:policy/NoSuchPolicyAnywhere"
	customARN = "arn:aws:iam::111122223333:policy/team/S3"
)

func iamStore(t *testing.T) *rolestore.SQLite {
	t.Helper()
	s := openStore(t, "")
	mustPutAccount(t, s, iamAcct)
	return s
}

// wantCode fails unless err carries the IAM error code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := rolestore.Code(err); got != code {
		t.Fatalf("%s: error %v has code %q, want %q", what, err, got, code)
	}
}

// must returns v, or fails the test with err: must(f())(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestGroups_CreateGetUpdateDelete(t *testing.T) {
	ctx := t.Context()
	s := iamStore(t)
	g := must(s.CreateGroup(ctx, rolestore.Group{AccountID: iamAcct, Name: "Admins", Path: "/ops/"}))(t)
	if !regexp.MustCompile(`^AGPA[A-Z2-7]{17}$`).MatchString(g.ID) || g.ARN() != "arn:aws:iam::111122223333:group/ops/Admins" {
		t.Fatalf("created %+v, ARN %s", g, g.ARN())
	}
	// IAM names are unique without regard to case.
	_, err := s.CreateGroup(ctx, rolestore.Group{AccountID: iamAcct, Name: "admins"})
	wantCode(t, "CreateGroup(dup)", err, rolestore.CodeEntityAlreadyExists)
	if !errors.Is(err, rolestore.ErrAlreadyExists) {
		t.Errorf("errors.Is(%v, ErrAlreadyExists) = false", err)
	}
	_, err = s.Group(ctx, iamAcct, "nobody")
	wantCode(t, "Group(missing)", err, rolestore.CodeNoSuchEntity)
	if !errors.Is(err, rolestore.ErrNotFound) || err.Error() != "The group with name nobody cannot be found." {
		t.Errorf("Group(missing) = %v", err)
	}

	must(s.CreateGroup(ctx, rolestore.Group{AccountID: iamAcct, Name: "Devs"}))(t)
	_, err = s.UpdateGroup(ctx, iamAcct, "Devs", "ADMINS", "")
	wantCode(t, "UpdateGroup(to taken name)", err, rolestore.CodeEntityAlreadyExists)
	up := must(s.UpdateGroup(ctx, iamAcct, "Devs", "Developers", "/eng/"))(t)
	if up.Name != "Developers" || up.Path != "/eng/" || up.ID == g.ID {
		t.Errorf("UpdateGroup = %+v", up)
	}

	// DeleteGroup refuses a group with members, inline or attached
	// policies (IAM API reference, DeleteGroup: "The group must not
	// contain any users or have any attached policies").
	must(s.PutUser(ctx, rolestore.User{AccountID: iamAcct, Name: "alice"}))(t)
	if err := s.AddUserToGroup(ctx, iamAcct, "admins", "ALICE"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "DeleteGroup(members)", s.DeleteGroup(ctx, iamAcct, "Admins"), rolestore.CodeDeleteConflict)
	if err := s.RemoveUserFromGroup(ctx, iamAcct, "Admins", "alice"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "RemoveUserFromGroup(again)", s.RemoveUserFromGroup(ctx, iamAcct, "Admins", "alice"), rolestore.CodeNoSuchEntity)
	if err := s.PutGroupPolicy(ctx, iamAcct, "Admins", "all", allowAll); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "DeleteGroup(inline)", s.DeleteGroup(ctx, iamAcct, "Admins"), rolestore.CodeDeleteConflict)
	if err := s.DeleteGroupPolicy(ctx, iamAcct, "Admins", "all"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "DeleteGroupPolicy(again)", s.DeleteGroupPolicy(ctx, iamAcct, "Admins", "all"), rolestore.CodeNoSuchEntity)
	if err := s.AttachGroupPolicy(ctx, iamAcct, "Admins", adminARN); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "DeleteGroup(attached)", s.DeleteGroup(ctx, iamAcct, "Admins"), rolestore.CodeDeleteConflict)
	if err := s.DetachGroupPolicy(ctx, iamAcct, "Admins", adminARN); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(ctx, iamAcct, "Admins"); err != nil {
		t.Fatalf("DeleteGroup(empty) = %v", err)
	}
	wantCode(t, "DeleteGroup(again)", s.DeleteGroup(ctx, iamAcct, "Admins"), rolestore.CodeNoSuchEntity)
}

// IAM quotas: "Groups an IAM user can be a member of: 10".
func TestGroups_UserInAtMostTenGroups(t *testing.T) {
	ctx := t.Context()
	s := iamStore(t)
	must(s.PutUser(ctx, rolestore.User{AccountID: iamAcct, Name: "bob"}))(t)
	for i := range rolestore.MaxGroupsPerUser + 1 {
		must(s.CreateGroup(ctx, rolestore.Group{AccountID: iamAcct, Name: fmt.Sprintf("g%02d", i)}))(t)
	}
	for i := range rolestore.MaxGroupsPerUser {
		if err := s.AddUserToGroup(ctx, iamAcct, fmt.Sprintf("g%02d", i), "bob"); err != nil {
			t.Fatalf("AddUserToGroup(g%02d) = %v", i, err)
		}
	}
	// Adding to a group the user is in already is not an error.
	if err := s.AddUserToGroup(ctx, iamAcct, "g00", "bob"); err != nil {
		t.Fatalf("AddUserToGroup(again) = %v", err)
	}
	err := s.AddUserToGroup(ctx, iamAcct, "g10", "bob")
	wantCode(t, "AddUserToGroup(11th)", err, rolestore.CodeLimitExceeded)
	if err.Error() != "Cannot exceed quota for GroupsPerUser: 10" {
		t.Errorf("message %q", err)
	}
	wantCode(t, "AddUserToGroup(no user)", s.AddUserToGroup(ctx, iamAcct, "g10", "carol"), rolestore.CodeNoSuchEntity)
	wantCode(t, "AddUserToGroup(no group)", s.AddUserToGroup(ctx, iamAcct, "g99", "bob"), rolestore.CodeNoSuchEntity)

	u := must(s.User(ctx, iamAcct, "bob"))(t)
	if len(u.Groups) != 10 || u.Groups[0] != "g00" {
		t.Errorf("User.Groups = %v", u.Groups)
	}
	gs := must(s.GroupsForUser(ctx, iamAcct, "bob"))(t)
	members := must(s.GroupUsers(ctx, iamAcct, "g03"))(t)
	if len(gs) != 10 || len(members) != 1 || members[0].Name != "bob" {
		t.Errorf("GroupsForUser = %d groups, GroupUsers(g03) = %v", len(gs), members)
	}
}

// A config file's users name their groups; PutUser makes the user a member
// of exactly those, creating the missing ones.
func TestPutUser_GroupsAreMemberships(t *testing.T) {
	ctx := t.Context()
	s := iamStore(t)
	must(s.CreateGroup(ctx, rolestore.Group{AccountID: iamAcct, Name: "Existing", Path: "/x/"}))(t)
	u := must(s.PutUser(ctx, rolestore.User{AccountID: iamAcct, Name: "dave", Groups: []string{"new", "existing"}}))(t)
	if !slices.Equal(u.Groups, []string{"Existing", "new"}) {
		t.Errorf("Groups = %v", u.Groups)
	}
	g := must(s.Group(ctx, iamAcct, "new"))(t)
	if g.Path != "/" {
		t.Errorf("created group %+v", g)
	}
	u = must(s.PutUser(ctx, rolestore.User{AccountID: iamAcct, Name: "dave", Groups: []string{"new"}}))(t)
	if !slices.Equal(u.Groups, []string{"new"}) {
		t.Errorf("after replacing: Groups = %v", u.Groups)
	}
	if m := must(s.GroupUsers(ctx, iamAcct, "Existing"))(t); len(m) != 0 {
		t.Errorf("Existing still has %v", m)
	}
}

func TestManagedPolicy_Versions(t *testing.T) {
	ctx := t.Context()
	s := iamStore(t)
	p := must(s.CreatePolicy(ctx, rolestore.ManagedPolicy{AccountID: iamAcct, Name: "S3", Path: "/team/", Description: "s3", Document: allowS3}))(t)
	if p.ARN() != customARN || p.DefaultVersionID != "v1" || !strings.HasPrefix(p.ID, "ANPA") || p.Document != allowS3 {
		t.Fatalf("CreatePolicy = %+v", p)
	}
	_, err := s.CreatePolicy(ctx, rolestore.ManagedPolicy{AccountID: iamAcct, Name: "s3", Document: allowS3})
	wantCode(t, "CreatePolicy(dup)", err, rolestore.CodeEntityAlreadyExists)
	_, err = s.CreatePolicy(ctx, rolestore.ManagedPolicy{AccountID: iamAcct, Name: "bad", Document: `{"Version":"2012-10-17"}`})
	wantCode(t, "CreatePolicy(no Statement)", err, rolestore.CodeMalformedPolicyDocument)

	// IAM API reference, CreatePolicyVersion: "A managed policy can have up
	// to five versions."
	for i := 2; i <= rolestore.MaxPolicyVersions; i++ {
		v := must(s.CreatePolicyVersion(ctx, customARN, allowAll, i == 3))(t)
		if v.VersionID != fmt.Sprintf("v%d", i) || v.IsDefault != (i == 3) || v.PolicyARN != customARN {
			t.Fatalf("CreatePolicyVersion #%d = %+v", i, v)
		}
	}
	_, err = s.CreatePolicyVersion(ctx, customARN, allowAll, false)
	wantCode(t, "CreatePolicyVersion(6th)", err, rolestore.CodeLimitExceeded)
	if p := must(s.Policy(ctx, customARN))(t); p.DefaultVersionID != "v3" || p.Document != allowAll {
		t.Errorf("after v3 as default: %+v", p)
	}
	// DeletePolicyVersion: "You cannot delete the default version".
	wantCode(t, "DeletePolicyVersion(default)", s.DeletePolicyVersion(ctx, customARN, "v3"), rolestore.CodeDeleteConflict)
	wantCode(t, "DeletePolicyVersion(v9)", s.DeletePolicyVersion(ctx, customARN, "v9"), rolestore.CodeNoSuchEntity)
	if err := s.DeletePolicyVersion(ctx, customARN, "v2"); err != nil {
		t.Fatal(err)
	}
	// Version numbers are never reused.
	v := must(s.CreatePolicyVersion(ctx, customARN, allowS3, false))(t)
	if v.VersionID != "v6" {
		t.Errorf("next version after deleting v2 = %s, want v6", v.VersionID)
	}
	if err := s.SetDefaultPolicyVersion(ctx, customARN, "v1"); err != nil {
		t.Fatal(err)
	}
	if d := must(s.PolicyDocument(ctx, customARN))(t); d != allowS3 {
		t.Errorf("PolicyDocument = %s", d)
	}
	vs := must(s.PolicyVersions(ctx, customARN))(t)
	var ids []string
	for _, v := range vs {
		ids = append(ids, v.VersionID)
	}
	if !slices.Equal(ids, []string{"v1", "v3", "v4", "v5", "v6"}) || !vs[0].IsDefault {
		t.Errorf("PolicyVersions = %v", ids)
	}

	// DeletePolicy: the policy must be detached from everything and have
	// no version but the default.
	must(s.PutUser(ctx, rolestore.User{AccountID: iamAcct, Name: "erin"}))(t)
	if err := s.AttachUserPolicy(ctx, iamAcct, "erin", customARN); err != nil {
		t.Fatal(err)
	}
	if p := must(s.Policy(ctx, customARN))(t); p.AttachmentCount != 1 {
		t.Errorf("AttachmentCount = %d", p.AttachmentCount)
	}
	wantCode(t, "DeletePolicy(attached)", s.DeletePolicy(ctx, customARN), rolestore.CodeDeleteConflict)
	if err := s.DetachUserPolicy(ctx, iamAcct, "erin", customARN); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "DeletePolicy(versions)", s.DeletePolicy(ctx, customARN), rolestore.CodeDeleteConflict)
	for _, id := range []string{"v3", "v4", "v5", "v6"} {
		if err := s.DeletePolicyVersion(ctx, customARN, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetUserPermissionsBoundary(ctx, iamAcct, "erin", customARN); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "DeletePolicy(boundary)", s.DeletePolicy(ctx, customARN), rolestore.CodeDeleteConflict)
	if err := s.SetUserPermissionsBoundary(ctx, iamAcct, "erin", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePolicy(ctx, customARN); err != nil {
		t.Fatalf("DeletePolicy = %v", err)
	}
	_, err = s.Policy(ctx, customARN)
	wantCode(t, "Policy(deleted)", err, rolestore.CodeNoSuchEntity)

	// AWS managed policies come from the catalogue and cannot be changed.
	a := must(s.Policy(ctx, adminARN))(t)
	if !a.AWSManaged() || a.ARN() != adminARN || a.DefaultVersionID == "" {
		t.Errorf("Policy(AdministratorAccess) = %+v", a)
	}
	_, err = s.CreatePolicyVersion(ctx, adminARN, allowAll, true)
	wantCode(t, "CreatePolicyVersion(AWS managed)", err, rolestore.CodeInvalidInput)
	_, err = s.Policy(ctx, bogusARN)
	wantCode(t, "Policy(unknown AWS ARN)", err, rolestore.CodeNoSuchEntity)
}

// IAM quotas: "Managed policies attached to an IAM role/user/group: 10".
func TestAttach_LimitsAndUnknownPolicies(t *testing.T) {
	ctx := t.Context()
	s := iamStore(t)
	must(s.PutRole(ctx, rolestore.Role{AccountID: iamAcct, Name: "app", TrustPolicy: allowAll}))(t)
	wantCode(t, "AttachRolePolicy(unknown AWS)", s.AttachRolePolicy(ctx, iamAcct, "app", bogusARN), rolestore.CodeNoSuchEntity)
	wantCode(t, "AttachRolePolicy(unknown customer)", s.AttachRolePolicy(ctx, iamAcct, "app", "arn:aws:iam::111122223333:policy/nope"), rolestore.CodeNoSuchEntity)
	wantCode(t, "AttachRolePolicy(no role)", s.AttachRolePolicy(ctx, iamAcct, "ghost", adminARN), rolestore.CodeNoSuchEntity)
	for i := range rolestore.MaxManagedPolicies + 1 {
		must(s.CreatePolicy(ctx, rolestore.ManagedPolicy{AccountID: iamAcct, Name: fmt.Sprintf("p%02d", i), Document: allowS3}))(t)
	}
	for i := range rolestore.MaxManagedPolicies {
		if err := s.AttachRolePolicy(ctx, iamAcct, "app", fmt.Sprintf("arn:aws:iam::%s:policy/p%02d", iamAcct, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AttachRolePolicy(ctx, iamAcct, "app", "arn:aws:iam::111122223333:policy/p00"); err != nil {
		t.Errorf("attaching again = %v, want nil (idempotent)", err)
	}
	err := s.AttachRolePolicy(ctx, iamAcct, "app", "arn:aws:iam::111122223333:policy/p10")
	wantCode(t, "AttachRolePolicy(11th)", err, rolestore.CodeLimitExceeded)
	if err.Error() != "Cannot exceed quota for PoliciesPerRole: 10" {
		t.Errorf("message %q", err)
	}
	wantCode(t, "DetachRolePolicy(not attached)", s.DetachRolePolicy(ctx, iamAcct, "app", "arn:aws:iam::111122223333:policy/p10"), rolestore.CodeNoSuchEntity)
	r := must(s.Role(ctx, iamAcct, "app"))(t)
	if len(r.ManagedPolicies) != 10 {
		t.Errorf("Role.ManagedPolicies = %v", r.ManagedPolicies)
	}
	ents := must(s.PolicyEntities(ctx, iamAcct, "arn:aws:iam::111122223333:policy/p03"))(t)
	if !slices.Equal(ents.Roles, []string{"app"}) {
		t.Errorf("PolicyEntities = %+v", ents)
	}
	// DeleteRole: "you must first ... detach managed policies".
	err = s.DeleteRole(ctx, iamAcct, "app")
	wantCode(t, "DeleteRole(attached)", err, rolestore.CodeDeleteConflict)
	if !errors.Is(err, rolestore.ErrConflict) {
		t.Errorf("errors.Is(%v, ErrConflict) = false", err)
	}
	// PutRole with too many or unknown policies writes nothing.
	_, err = s.PutRole(ctx, rolestore.Role{AccountID: iamAcct, Name: "other", TrustPolicy: allowAll, ManagedPolicies: []string{bogusARN}})
	wantCode(t, "PutRole(unknown policy)", err, rolestore.CodeNoSuchEntity)
	if _, err := s.Role(ctx, iamAcct, "other"); !errors.Is(err, rolestore.ErrNotFound) {
		t.Errorf("PutRole wrote a role despite the error: %v", err)
	}
}

func TestInlinePolicies_SizeQuota(t *testing.T) {
	ctx := t.Context()
	s := iamStore(t)
	must(s.PutUser(ctx, rolestore.User{AccountID: iamAcct, Name: "frank"}))(t)
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("b", 1900) + `"}]}`
	if err := s.PutUserPolicy(ctx, iamAcct, "frank", "one", big); err != nil {
		t.Fatal(err)
	}
	// IAM quotas: user inline policies total 2,048 characters.
	wantCode(t, "PutUserPolicy(over quota)", s.PutUserPolicy(ctx, iamAcct, "frank", "two", allowS3), rolestore.CodeLimitExceeded)
	wantCode(t, "PutUserPolicy(not JSON)", s.PutUserPolicy(ctx, iamAcct, "frank", "x", "{"), rolestore.CodeMalformedPolicyDocument)
	wantCode(t, "PutUserPolicy(no user)", s.PutUserPolicy(ctx, iamAcct, "ghost", "x", allowS3), rolestore.CodeNoSuchEntity)
	if err := s.PutRolePolicy(ctx, iamAcct, "ghost", "x", allowS3); rolestore.Code(err) != rolestore.CodeNoSuchEntity {
		t.Errorf("PutRolePolicy(no role) = %v", err)
	}
}

// CheckPolicy turns a grammar error into MalformedPolicyDocument.
func TestCheckPolicy(t *testing.T) {
	ctx := t.Context()
	s, err := rolestore.OpenSQLite(ctx, ":memory:", rolestore.Options{CheckPolicy: func(doc string) error {
		if strings.Contains(doc, "Bogus") {
			return errors.New("Syntax errors in policy.")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustPutAccount(t, s, iamAcct)
	_, err = s.CreatePolicy(ctx, rolestore.ManagedPolicy{AccountID: iamAcct, Name: "p", Document: `{"Statement":[],"Bogus":1}`})
	wantCode(t, "CreatePolicy", err, rolestore.CodeMalformedPolicyDocument)
	if err.Error() != "Syntax errors in policy." {
		t.Errorf("message %q", err)
	}
}

func TestUserPermissions_UserGroupsManagedBoundary(t *testing.T) {
	ctx := t.Context()
	s := iamStore(t)
	must(s.CreatePolicy(ctx, rolestore.ManagedPolicy{AccountID: iamAcct, Name: "S3", Path: "/team/", Document: allowS3}))(t)
	must(s.PutGroup(ctx, rolestore.Group{AccountID: iamAcct, Name: "admins", Policies: map[string]string{"g": allowS3},
		ManagedPolicies: []string{adminARN}}))(t)
	must(s.PutUser(ctx, rolestore.User{AccountID: iamAcct, Name: "gina", Groups: []string{"admins"},
		Policies: map[string]string{"mine": allowS3}, ManagedPolicies: []string{customARN}, PermissionsBoundary: customARN}))(t)
	u, perm, err := s.UserPermissions(ctx, iamAcct, "GINA")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range perm.Policies {
		names = append(names, p.Kind+" "+p.Name)
	}
	want := []string{
		"inline-user inline:mine",
		"managed " + customARN,
		"inline-group group/admins:inline:g",
		"managed group/admins:" + adminARN,
	}
	if u.Name != "gina" || !slices.Equal(names, want) {
		t.Errorf("UserPermissions = %s, %q; want %q", u.Name, names, want)
	}
	if perm.Boundary == nil || perm.Boundary.Name != customARN || perm.Boundary.Document != allowS3 {
		t.Errorf("Boundary = %+v", perm.Boundary)
	}
	_, _, err = s.UserPermissions(ctx, iamAcct, "nobody")
	wantCode(t, "UserPermissions(missing)", err, rolestore.CodeNoSuchEntity)

	must(s.PutRole(ctx, rolestore.Role{AccountID: iamAcct, Name: "r", Path: "/svc/", TrustPolicy: allowAll,
		Policies: map[string]string{"in": allowS3}, ManagedPolicies: []string{adminARN}}))(t)
	r, rp, err := s.RolePermissions(ctx, "arn:aws:iam::111122223333:role/svc/r")
	if err != nil || r.Name != "r" || len(rp.Policies) != 2 || rp.Policies[1].Name != adminARN || rp.Boundary != nil {
		t.Errorf("RolePermissions = %+v, %+v, %v", r, rp, err)
	}
	_, _, err = s.RolePermissions(ctx, "arn:aws:iam::111122223333:role/r")
	wantCode(t, "RolePermissions(wrong path)", err, rolestore.CodeNoSuchEntity)
}

func TestCode(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("disk on fire"), ""},
		{fmt.Errorf("x: %w", rolestore.ErrNotFound), rolestore.CodeNoSuchEntity},
		{fmt.Errorf("x: %w", rolestore.ErrLimitExceeded), rolestore.CodeLimitExceeded},
		{&rolestore.ValidationError{Entity: "user", Field: "Name", Reason: "bad"}, rolestore.CodeValidationError},
		{context.Canceled, ""},
	} {
		if got := rolestore.Code(c.err); got != c.want {
			t.Errorf("Code(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// BenchmarkSQLite_UserPermissions is the store read behind every
// authorized STS request of an IAM user: the user, its attached policies,
// two groups with inline and attached policies, and a boundary.
func BenchmarkSQLite_UserPermissions(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, "")
	mustPutAccount(b, s, iamAcct)
	if _, err := s.CreatePolicy(ctx, rolestore.ManagedPolicy{AccountID: iamAcct, Name: "S3", Path: "/team/", Document: allowS3}); err != nil {
		b.Fatal(err)
	}
	for _, g := range []string{"a", "b"} {
		if _, err := s.PutGroup(ctx, rolestore.Group{AccountID: iamAcct, Name: g, Policies: map[string]string{"p": allowS3},
			ManagedPolicies: []string{adminARN, customARN}}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.PutUser(ctx, rolestore.User{AccountID: iamAcct, Name: "u", Groups: []string{"a", "b"},
		Policies: map[string]string{"p": allowS3}, ManagedPolicies: []string{customARN}, PermissionsBoundary: adminARN}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, perm, err := s.UserPermissions(ctx, iamAcct, "u"); err != nil || len(perm.Policies) != 8 {
			b.Fatal(len(perm.Policies), err)
		}
	}
}

// UserPermissions answers from memory, yet sees every commit at once, also
// another process's (here: a second store on the same file).
func TestUserPermissions_SeesOtherWriters(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "imdsemu.db")
	a, b := openStore(t, path), openStore(t, path)
	mustPutAccount(t, a, iamAcct)
	must(a.PutUser(ctx, rolestore.User{AccountID: iamAcct, Name: "u"}))(t)
	count := func() int {
		t.Helper()
		_, perm, err := a.UserPermissions(ctx, iamAcct, "u")
		if err != nil {
			t.Fatal(err)
		}
		return len(perm.Policies)
	}
	if n := count(); n != 0 {
		t.Fatalf("%d policies", n)
	}
	count() // from memory
	if err := b.AttachUserPolicy(ctx, iamAcct, "u", adminARN); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("after another writer attached a policy: %d policies, want 1", n)
	}
	must(b.PutGroup(ctx, rolestore.Group{AccountID: iamAcct, Name: "g", Policies: map[string]string{"p": allowS3}}))(t)
	if err := b.AddUserToGroup(ctx, iamAcct, "g", "u"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("after another writer added a group: %d policies, want 2", n)
	}
	if err := a.DetachUserPolicy(ctx, iamAcct, "u", adminARN); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("after detaching: %d policies, want 1", n)
	}
}
