package rolestore_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/imdsemu/imdsemu/rolestore"
)

// AccessKey, User and UserByID answer from memory, yet see every commit at
// once, also another process's (here: a second store on the same file),
// and what they return may be modified without touching what they keep.
func TestSQLite_KeysAndUsersSeeOtherWriters(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "imdsemu.db")
	a, b := openStore(t, path), openStore(t, path)
	mustPutAccount(t, a, acct)
	u := must(a.PutUser(ctx, validUser()))(t)
	must(a.PutAccessKey(ctx, rolestore.AccessKey{ID: testKeyID, SecretAccessKey: testSecret, AccountID: acct,
		UserName: u.Name, Status: rolestore.AccessKeyActive}))(t)

	status := func() rolestore.AccessKeyStatus {
		t.Helper()
		k, err := a.AccessKey(ctx, testKeyID)
		if err != nil {
			t.Fatal(err)
		}
		return k.Status
	}
	if s := status(); s != rolestore.AccessKeyActive {
		t.Fatalf("status %s", s)
	}
	status() // from memory
	if err := b.SetAccessKeyStatus(ctx, testKeyID, rolestore.AccessKeyInactive); err != nil {
		t.Fatal(err)
	}
	if s := status(); s != rolestore.AccessKeyInactive {
		t.Errorf("after another writer deactivated the key: %s", s)
	}

	got := must(a.User(ctx, acct, u.Name))(t)
	got.Groups[0], got.Tags[0].Value = "changed", "changed"
	got.Policies["added"] = "{}"
	for what, read := range map[string]func() (rolestore.User, error){
		"User":     func() (rolestore.User, error) { return a.User(ctx, acct, u.Name) },
		"UserByID": func() (rolestore.User, error) { return a.UserByID(ctx, u.ID) },
	} {
		again := must(read())(t)
		if again.Groups[0] != "developers" || again.Tags[0].Value != "platform" || len(again.Policies) != 1 {
			t.Errorf("%s after the caller modified an earlier answer: groups %v, tags %v, %d policies", what, again.Groups, again.Tags, len(again.Policies))
		}
	}
	if err := b.AddUserToGroup(ctx, acct, "ops", u.Name); err == nil || rolestore.Code(err) != rolestore.CodeNoSuchEntity {
		t.Fatalf("AddUserToGroup(missing group) = %v", err)
	}
	must(b.PutGroup(ctx, rolestore.Group{AccountID: acct, Name: "ops"}))(t)
	if err := b.AddUserToGroup(ctx, acct, "ops", u.Name); err != nil {
		t.Fatal(err)
	}
	if g := must(a.User(ctx, acct, u.Name))(t).Groups; len(g) != 2 {
		t.Errorf("after another writer added a group: groups %v", g)
	}
	if err := b.DeleteAccessKey(ctx, testKeyID); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteUser(ctx, acct, u.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UserByID(ctx, u.ID); !errors.Is(err, rolestore.ErrNotFound) {
		t.Errorf("UserByID after another writer deleted the user = %v, want ErrNotFound", err)
	}
	if _, err := a.AccessKey(ctx, testKeyID); !errors.Is(err, rolestore.ErrNotFound) {
		t.Errorf("AccessKey after another writer deleted it = %v, want ErrNotFound", err)
	}
}
