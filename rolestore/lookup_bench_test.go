package rolestore_test

import (
	"context"
	"testing"

	"github.com/imdsemu/imdsemu/rolestore"
)

// BenchmarkSQLite_Lookups measures the store reads on the hot paths that
// SQLite answers (the others answer from memory): a mint reads the
// instance profile and then its role, so that it uses the role the store
// has now; an STS request signed with a long-term access key reads the key
// and then its user. The database is a file in WAL mode, as serve's.
func BenchmarkSQLite_Lookups(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, "")
	mustPutAccount(b, s, acct)
	role := validRole()
	role.ManagedPolicies = []string{adminARN}
	if _, err := s.PutRole(ctx, role); err != nil {
		b.Fatal(err)
	}
	if _, err := s.PutInstanceProfile(ctx, rolestore.InstanceProfile{AccountID: acct, Name: "web", Roles: []string{role.Name}}); err != nil {
		b.Fatal(err)
	}
	u := validUser()
	u.ManagedPolicies = []string{adminARN}
	if _, err := s.PutUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	k := rolestore.AccessKey{ID: testKeyID, SecretAccessKey: testSecret, AccountID: acct, UserName: u.Name, Status: rolestore.AccessKeyActive}
	if _, err := s.PutAccessKey(ctx, k); err != nil {
		b.Fatal(err)
	}
	b.Run("InstanceProfile", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if p, err := s.InstanceProfile(ctx, acct, "web"); err != nil || len(p.Roles) != 1 {
				b.Fatal(p, err)
			}
		}
	})
	b.Run("Role", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if r, err := s.Role(ctx, acct, role.Name); err != nil || len(r.ManagedPolicies) != 1 {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("Mint", func(b *testing.B) { // Instance.Issue's reads
		b.ReportAllocs()
		for b.Loop() {
			p, err := s.InstanceProfile(ctx, acct, "web")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Role(ctx, acct, p.Roles[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AccessKey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.AccessKey(ctx, testKeyID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("User", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if u, err := s.User(ctx, acct, u.Name); err != nil || len(u.Groups) != 1 || len(u.ManagedPolicies) != 1 {
				b.Fatal(u, err)
			}
		}
	})
	b.Run("LongTermKey", func(b *testing.B) { // STS's reads for a request signed with the key
		b.ReportAllocs()
		for b.Loop() {
			k, err := s.AccessKey(ctx, testKeyID)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.User(ctx, k.AccountID, k.UserName); err != nil {
				b.Fatal(err)
			}
			if _, _, err := s.UserPermissions(ctx, k.AccountID, k.UserName); err != nil {
				b.Fatal(err)
			}
		}
	})
}
