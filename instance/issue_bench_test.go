package instance

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/imdsemu/imdsemu/imds"
	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

// BenchmarkInstance_Issue is one mint of an instance profile's credentials
// as the refresher asks for it in serve: the profile and its role read from
// the store (a file in WAL mode, as serve's), the trust check, and the
// session minted and sealed.
func BenchmarkInstance_Issue(b *testing.B) {
	ctx := context.Background()
	store, err := rolestore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "imdsemu.db"), rolestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	err = store.Apply(ctx, rolestore.Seed{
		Accounts:         []rolestore.Account{{ID: acct}},
		Roles:            []rolestore.Role{{AccountID: acct, Name: "web", TrustPolicy: ec2Trust}},
		InstanceProfiles: []rolestore.InstanceProfile{{AccountID: acct, Name: "web", Roles: []string{"web"}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	issuer, err := sts.NewIssuer(sts.IssuerOptions{Key: []byte(sealBytes)})
	if err != nil {
		b.Fatal(err)
	}
	in, err := New(ctx, Options{Metadata: imds.Instance{ID: firstID, AccountID: acct}, Profile: "web",
		Store: store, STS: issuer, Scheduler: newSyncScheduler(nil)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := in.Issue(ctx, webARN, lifetime); err != nil {
			b.Fatal(err)
		}
	}
}
