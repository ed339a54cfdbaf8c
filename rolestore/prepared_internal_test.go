package rolestore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// unprepared is a querier that fails the test when asked anything: the
// hot reads must find their statements prepared. closed is a closed
// database, which answers every query with an error.
type unprepared struct {
	t      *testing.T
	closed *sql.DB
}

func (u unprepared) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	u.t.Errorf("query not prepared:\n%s", query)
	return u.closed.QueryContext(ctx, query, args...)
}

func (u unprepared) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	u.t.Errorf("query not prepared:\n%s", query)
	return u.closed.QueryRowContext(ctx, query, args...)
}

// The reads on the hot paths (a mint, an STS request with a long-term
// key) run only prepared statements, and Close closes them.
func TestSQLite_HotReadsArePrepared(t *testing.T) {
	ctx := t.Context()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "imdsemu.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	const acct = "111122223333"
	err = s.Apply(ctx, Seed{
		Accounts:         []Account{{ID: acct}},
		Roles:            []Role{{AccountID: acct, Name: "web", TrustPolicy: `{"Version":"2012-10-17","Statement":[]}`}},
		InstanceProfiles: []InstanceProfile{{AccountID: acct, Name: "web", Roles: []string{"web"}}},
		Users:            []User{{AccountID: acct, Name: "alice", Groups: []string{"dev"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.PutAccessKey(ctx, AccessKey{ID: "AKIAABCDEFGHIJKLMNOP", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		AccountID: acct, UserName: "alice", Status: AccessKeyActive})
	if err != nil {
		t.Fatal(err)
	}
	role, err := s.Role(ctx, acct, "web")
	if err != nil {
		t.Fatal(err)
	}
	closed, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	s.readerQ.q = unprepared{t, closed}
	if _, err := s.InstanceProfile(ctx, acct, "web"); err != nil {
		t.Errorf("InstanceProfile() = %v", err)
	}
	for what, read := range map[string]func() (Role, error){
		"Role":      func() (Role, error) { return s.Role(ctx, acct, "web") },
		"RoleByARN": func() (Role, error) { return s.RoleByARN(ctx, role.ARN()) },
		"RoleByID":  func() (Role, error) { return s.RoleByID(ctx, role.ID) },
	} {
		if got, err := read(); err != nil || got.ID != role.ID {
			t.Errorf("%s() = %v, %v", what, got.ID, err)
		}
	}
	if got, err := s.AccessKey(ctx, k.ID); err != nil || got.UserName != "alice" {
		t.Errorf("AccessKey() = user %q, %v", got.UserName, err)
	}
	u, err := s.User(ctx, acct, "alice")
	if err != nil || len(u.Groups) != 1 {
		t.Errorf("User() = %v, %v", u, err)
	}
	if got, err := s.UserByID(ctx, u.ID); err != nil || got.Name != "alice" {
		t.Errorf("UserByID() = %v, %v", got, err)
	}
	stmts := s.stmts
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for q, st := range stmts {
		if err := st.QueryRowContext(ctx).Err(); err == nil || err.Error() != "sql: statement is closed" {
			t.Errorf("after Close, the statement of %.40q... answers %v", q, err)
		}
	}
}

// BenchmarkSQLite_readUserPermissions is what UserPermissions reads when
// its cache has no answer (after any commit): the user, its groups and
// attached policies, two groups with theirs, and the documents.
func BenchmarkSQLite_readUserPermissions(b *testing.B) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "imdsemu.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const (
		acct  = "111122223333"
		doc   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
		admin = "arn:aws:iam::aws:policy/AdministratorAccess"
	)
	if err := s.PutAccount(ctx, Account{ID: acct}); err != nil {
		b.Fatal(err)
	}
	p, err := s.CreatePolicy(ctx, ManagedPolicy{AccountID: acct, Name: "S3", Path: "/team/", Document: doc})
	if err != nil {
		b.Fatal(err)
	}
	for _, g := range []string{"a", "b"} {
		if _, err := s.PutGroup(ctx, Group{AccountID: acct, Name: g, Policies: map[string]string{"p": doc},
			ManagedPolicies: []string{admin, p.ARN()}}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.PutUser(ctx, User{AccountID: acct, Name: "u", Groups: []string{"a", "b"},
		Policies: map[string]string{"p": doc}, ManagedPolicies: []string{p.ARN()}, PermissionsBoundary: admin}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, perm, err := s.readUserPermissions(ctx, acct, "u"); err != nil || len(perm.Policies) != 8 {
			b.Fatal(len(perm.Policies), err)
		}
	}
}
