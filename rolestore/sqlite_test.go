package rolestore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imdsemu/imdsemu/rolestore"
)

var regexpRoleID = regexp.MustCompile(`^AROA[A-Z2-7]{17}$`)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

// openStore opens a fresh store in a temp dir with a fixed clock.
func openStore(t testing.TB, path string) *rolestore.SQLite {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "imdsemu.db")
	}
	s, err := rolestore.OpenSQLite(t.Context(), path, rolestore.Options{Now: func() time.Time { return epoch }})
	if err != nil {
		t.Fatalf("OpenSQLite(%q) = %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustPutAccount(t testing.TB, s rolestore.Store, id string) {
	t.Helper()
	if err := s.PutAccount(context.Background(), rolestore.Account{ID: id}); err != nil {
		t.Fatalf("PutAccount(%s) = %v", id, err)
	}
}

// snapshot reads everything in the store, for before/after comparisons.
type snapshot struct {
	Accounts []rolestore.Account
	Roles    []rolestore.Role
	Profiles []rolestore.InstanceProfile
}

func takeSnapshot(t testing.TB, s rolestore.Store, accounts ...string) snapshot {
	t.Helper()
	ctx := context.Background()
	var snap snapshot
	for _, id := range accounts {
		a, err := s.Account(ctx, id)
		if errors.Is(err, rolestore.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		snap.Accounts = append(snap.Accounts, a)
	}
	var err error
	if snap.Roles, err = s.Roles(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if snap.Profiles, err = s.InstanceProfiles(ctx, ""); err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestSQLite_RoleRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	mustPutAccount(t, s, acct)

	in := validRole()
	in.MaxSessionDuration = 2 * time.Hour
	got, err := s.PutRole(ctx, in)
	if err != nil {
		t.Fatalf("PutRole() = %v", err)
	}
	want := in
	want.ID = got.ID
	want.CreatedAt = epoch
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("PutRole() (-want +got)\n%s", diff)
	}
	if !regexpRoleID.MatchString(got.ID) {
		t.Fatalf("PutRole().ID = %q, want AROA + 17 base32", got.ID)
	}

	lookups := map[string]func() (rolestore.Role, error){
		"Role":           func() (rolestore.Role, error) { return s.Role(ctx, acct, "web") },
		"Role/case":      func() (rolestore.Role, error) { return s.Role(ctx, acct, "WEB") },
		"RoleByARN":      func() (rolestore.Role, error) { return s.RoleByARN(ctx, "arn:aws:iam::123456789012:role/app/web") },
		"RoleByID":       func() (rolestore.Role, error) { return s.RoleByID(ctx, got.ID) },
		"Roles(acct)[0]": func() (rolestore.Role, error) { rs, err := s.Roles(ctx, acct); return first(rs, err) },
		"Roles()[0]":     func() (rolestore.Role, error) { rs, err := s.Roles(ctx, ""); return first(rs, err) },
	}
	for name, lookup := range lookups {
		r, err := lookup()
		if err != nil {
			t.Fatalf("%s() = %v", name, err)
		}
		if diff := cmp.Diff(want, r); diff != "" {
			t.Errorf("%s() (-want +got)\n%s", name, diff)
		}
	}
}

func first(rs []rolestore.Role, err error) (rolestore.Role, error) {
	if err != nil {
		return rolestore.Role{}, err
	}
	if len(rs) != 1 {
		return rolestore.Role{}, fmt.Errorf("got %d roles, want 1", len(rs))
	}
	return rs[0], nil
}

func TestSQLite_RoleDefaults(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	mustPutAccount(t, s, acct)
	got, err := s.PutRole(ctx, rolestore.Role{AccountID: acct, Name: "min", TrustPolicy: trust, Policies: map[string]string{}, Tags: []rolestore.Tag{}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Path != "/" || got.MaxSessionDuration != time.Hour || got.Policies != nil || got.Tags != nil {
		t.Errorf("PutRole(minimal) = path %q, max %v, policies %v, tags %v, want /, 1h, nil, nil",
			got.Path, got.MaxSessionDuration, got.Policies, got.Tags)
	}
}

func TestSQLite_NotFound(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	mustPutAccount(t, s, acct)
	if _, err := s.PutRole(ctx, validRole()); err != nil {
		t.Fatal(err)
	}
	cases := map[string]error{}
	_, cases["Account"] = s.Account(ctx, "999999999999")
	_, cases["Role"] = s.Role(ctx, acct, "nope")
	_, cases["Role other account"] = s.Role(ctx, "999999999999", "web")
	_, cases["RoleByARN"] = s.RoleByARN(ctx, "arn:aws:iam::123456789012:role/nope")
	_, cases["RoleByARN wrong path"] = s.RoleByARN(ctx, "arn:aws:iam::123456789012:role/web")
	_, cases["RoleByARN malformed"] = s.RoleByARN(ctx, "web")
	_, cases["RoleByID"] = s.RoleByID(ctx, "AROAAAAAAAAAAAAAAAAAA")
	cases["DeleteRole"] = s.DeleteRole(ctx, acct, "nope")
	_, cases["InstanceProfile"] = s.InstanceProfile(ctx, acct, "nope")
	for name, err := range cases {
		if !errors.Is(err, rolestore.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
	}
	roles, err := s.Roles(ctx, "999999999999")
	if err != nil || len(roles) != 0 {
		t.Errorf("Roles(unknown account) = %v, %v, want empty, nil", roles, err)
	}
}

func TestSQLite_IDStability(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	s := openStore(t, path)
	mustPutAccount(t, s, acct)
	r1, err := s.PutRole(ctx, validRole())
	if err != nil {
		t.Fatal(err)
	}
	p1, err := s.PutInstanceProfile(ctx, rolestore.InstanceProfile{AccountID: acct, Name: "web", Roles: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}

	// Upsert with changes: same ID and CreatedAt, new content.
	changed := validRole()
	changed.Description = "changed"
	changed.CreatedAt = epoch.Add(time.Hour) // ignored for an existing role
	r2, err := s.PutRole(ctx, changed)
	if err != nil {
		t.Fatal(err)
	}
	if r2.ID != r1.ID || !r2.CreatedAt.Equal(r1.CreatedAt) || r2.Description != "changed" {
		t.Fatalf("upsert: got ID %s created %v desc %q, want ID %s created %v desc changed", r2.ID, r2.CreatedAt, r2.Description, r1.ID, r1.CreatedAt)
	}
	p2, err := s.PutInstanceProfile(ctx, rolestore.InstanceProfile{AccountID: acct, Name: "web", Path: "/x/"})
	if err != nil {
		t.Fatal(err)
	}
	if p2.ID != p1.ID || p2.Path != "/x/" || len(p2.Roles) != 0 {
		t.Fatalf("profile upsert = %+v, want ID %s, path /x/, no roles", p2, p1.ID)
	}

	// Reopen and upsert again via Apply.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, path)
	err = s.Apply(ctx, rolestore.Seed{
		Accounts:         []rolestore.Account{{ID: acct}},
		Roles:            []rolestore.Role{validRole()},
		InstanceProfiles: []rolestore.InstanceProfile{{AccountID: acct, Name: "web", Roles: []string{"web"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r3, err := s.Role(ctx, acct, "web")
	if err != nil {
		t.Fatal(err)
	}
	p3, err := s.InstanceProfile(ctx, acct, "WEB")
	if err != nil {
		t.Fatal(err)
	}
	if r3.ID != r1.ID || p3.ID != p1.ID || !r3.CreatedAt.Equal(epoch) {
		t.Fatalf("after reopen: role ID %s profile ID %s created %v, want %s, %s, %v", r3.ID, p3.ID, r3.CreatedAt, r1.ID, p1.ID, epoch)
	}
	if diff := cmp.Diff([]string{"web"}, p3.Roles); diff != "" {
		t.Fatalf("profile roles (-want +got)\n%s", diff)
	}

	// An explicit ID replaces the stored one; a taken one is a conflict.
	explicit := validRole()
	explicit.ID = "AROAEXPLICIT234567ABC"
	r4, err := s.PutRole(ctx, explicit)
	if err != nil || r4.ID != explicit.ID {
		t.Fatalf("PutRole(explicit ID) = %v, %v, want ID %s", r4.ID, err, explicit.ID)
	}
	other := validRole()
	other.Name = "other"
	other.ID = explicit.ID
	if _, err := s.PutRole(ctx, other); !errors.Is(err, rolestore.ErrConflict) {
		t.Fatalf("PutRole(taken ID) = %v, want ErrConflict", err)
	}
}

func TestSQLite_CaseInsensitiveNames(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	mustPutAccount(t, s, acct)
	r1, err := s.PutRole(ctx, rolestore.Role{AccountID: acct, Name: "Web", TrustPolicy: trust})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.PutRole(ctx, rolestore.Role{AccountID: acct, Name: "web", TrustPolicy: trust})
	if err != nil {
		t.Fatal(err)
	}
	roles, err := s.Roles(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if len(roles) != 1 || r2.ID != r1.ID || roles[0].Name != "web" {
		t.Fatalf("after Put(Web), Put(web): roles %v, want one role named web with ID %s", roles, r1.ID)
	}
}

func TestSQLite_WriteValidation(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	mustPutAccount(t, s, acct)
	var ve *rolestore.ValidationError

	if err := s.PutAccount(ctx, rolestore.Account{ID: "1"}); !errors.As(err, &ve) {
		t.Errorf("PutAccount(bad) = %v, want *ValidationError", err)
	}
	bad := validRole()
	bad.MaxSessionDuration = 13 * time.Hour
	if _, err := s.PutRole(ctx, bad); !errors.As(err, &ve) || ve.Field != "MaxSessionDuration" {
		t.Errorf("PutRole(13h) = %v, want *ValidationError on MaxSessionDuration", err)
	}
	noAccount := validRole()
	noAccount.AccountID = "999999999999"
	if _, err := s.PutRole(ctx, noAccount); !errors.As(err, &ve) || ve.Field != "AccountID" {
		t.Errorf("PutRole(unknown account) = %v, want *ValidationError on AccountID", err)
	}
	if _, err := s.PutInstanceProfile(ctx, rolestore.InstanceProfile{AccountID: acct, Name: "p", Roles: []string{"nope"}}); !errors.As(err, &ve) || ve.Field != "Roles" {
		t.Errorf("PutInstanceProfile(missing role) = %v, want *ValidationError on Roles", err)
	}
	if _, err := s.PutRole(ctx, validRole()); err != nil {
		t.Fatal(err)
	}
	two := rolestore.InstanceProfile{AccountID: acct, Name: "p", Roles: []string{"web", "web2"}}
	if _, err := s.PutInstanceProfile(ctx, two); !errors.As(err, &ve) || ve.Field != "Roles" {
		t.Errorf("PutInstanceProfile(two roles) = %v, want *ValidationError on Roles", err)
	}
	if snap := takeSnapshot(t, s, acct); len(snap.Roles) != 1 || len(snap.Profiles) != 0 {
		t.Errorf("after failed writes: %d roles, %d profiles, want 1, 0", len(snap.Roles), len(snap.Profiles))
	}
}

func TestSQLite_DeleteRole(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	mustPutAccount(t, s, acct)
	if _, err := s.PutRole(ctx, validRole()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutInstanceProfile(ctx, rolestore.InstanceProfile{AccountID: acct, Name: "p", Roles: []string{"web"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRole(ctx, acct, "web"); !errors.Is(err, rolestore.ErrConflict) {
		t.Fatalf("DeleteRole(in profile) = %v, want ErrConflict", err)
	}
	if _, err := s.PutInstanceProfile(ctx, rolestore.InstanceProfile{AccountID: acct, Name: "p"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRole(ctx, acct, "web"); err != nil {
		t.Fatalf("DeleteRole() = %v", err)
	}
	if _, err := s.Role(ctx, acct, "web"); !errors.Is(err, rolestore.ErrNotFound) {
		t.Fatalf("Role(deleted) = %v, want ErrNotFound", err)
	}
}

func TestSQLite_Listing(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	other := "000000000001"
	seed := rolestore.Seed{
		Accounts: []rolestore.Account{{ID: acct, Alias: "demo"}, {ID: other}},
		Roles: []rolestore.Role{
			{AccountID: acct, Name: "zeta", TrustPolicy: trust},
			{AccountID: acct, Name: "Alpha", TrustPolicy: trust},
			{AccountID: other, Name: "mid", TrustPolicy: trust},
		},
		InstanceProfiles: []rolestore.InstanceProfile{
			{AccountID: acct, Name: "p2", Roles: []string{"zeta"}},
			{AccountID: acct, Name: "p1"},
			{AccountID: other, Name: "p0", Roles: []string{"mid"}},
		},
	}
	if err := s.Apply(ctx, seed); err != nil {
		t.Fatal(err)
	}
	names := func(rs []rolestore.Role) (out []string) {
		for _, r := range rs {
			out = append(out, r.AccountID+"/"+r.Name)
		}
		return out
	}
	pnames := func(ps []rolestore.InstanceProfile) (out []string) {
		for _, p := range ps {
			out = append(out, fmt.Sprint(p.AccountID, "/", p.Name, p.Roles))
		}
		return out
	}
	all, _ := s.Roles(ctx, "")
	one, _ := s.Roles(ctx, acct)
	pall, _ := s.InstanceProfiles(ctx, "")
	pone, _ := s.InstanceProfiles(ctx, other)
	cases := []struct {
		name      string
		got, want []string
	}{
		{"Roles()", names(all), []string{other + "/mid", acct + "/Alpha", acct + "/zeta"}},
		{"Roles(acct)", names(one), []string{acct + "/Alpha", acct + "/zeta"}},
		{"InstanceProfiles()", pnames(pall), []string{other + "/p0[mid]", acct + "/p1[]", acct + "/p2[zeta]"}},
		{"InstanceProfiles(other)", pnames(pone), []string{other + "/p0[mid]"}},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, tc.got); diff != "" {
			t.Errorf("%s (-want +got)\n%s", tc.name, diff)
		}
	}
	a, err := s.Account(ctx, acct)
	if err != nil || a.Alias != "demo" {
		t.Errorf("Account() = %+v, %v, want alias demo", a, err)
	}
}

func TestSQLite_ApplyIsAtomic(t *testing.T) {
	ctx := context.Background()
	other := "000000000001"
	base := rolestore.Seed{
		Accounts:         []rolestore.Account{{ID: acct}},
		Roles:            []rolestore.Role{validRole()},
		InstanceProfiles: []rolestore.InstanceProfile{{AccountID: acct, Name: "web", Roles: []string{"web"}}},
	}
	good := func() rolestore.Seed {
		changed := validRole()
		changed.Description = "changed"
		return rolestore.Seed{
			Accounts: []rolestore.Account{{ID: acct, Alias: "changed"}, {ID: other}},
			Roles: []rolestore.Role{
				changed,
				{AccountID: other, Name: "a", TrustPolicy: trust},
				{AccountID: other, Name: "b", TrustPolicy: trust},
				{AccountID: acct, Name: "c", TrustPolicy: trust},
			},
			InstanceProfiles: []rolestore.InstanceProfile{
				{AccountID: other, Name: "a", Roles: []string{"a"}},
				{AccountID: acct, Name: "web", Roles: []string{"c"}},
			},
		}
	}
	cases := []struct {
		name   string
		break_ func(s *rolestore.Seed)
		check  func(err error) bool
	}{
		{"bad role in the middle", func(s *rolestore.Seed) { s.Roles[2].MaxSessionDuration = 43201 * time.Second }, isValidation},
		{"bad account at the end", func(s *rolestore.Seed) { s.Accounts = append(s.Accounts, rolestore.Account{ID: "x"}) }, isValidation},
		{"profile role missing", func(s *rolestore.Seed) { s.InstanceProfiles[1].Roles = []string{"nope"} }, isValidation},
		{"role account missing", func(s *rolestore.Seed) { s.Roles[1].AccountID = "999999999999" }, isValidation},
		{"duplicate role", func(s *rolestore.Seed) { s.Roles = append(s.Roles, s.Roles[1]) }, isValidation},
		{"role ID taken (detected mid-transaction)", func(s *rolestore.Seed) {
			s.Roles[3].ID = "AROATAKEN234567ABCDEF"
		}, func(err error) bool { return errors.Is(err, rolestore.ErrConflict) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, "")
			if err := s.Apply(ctx, base); err != nil {
				t.Fatal(err)
			}
			taken := validRole()
			taken.Name = "taken"
			taken.ID = "AROATAKEN234567ABCDEF"
			if _, err := s.PutRole(ctx, taken); err != nil {
				t.Fatal(err)
			}
			before := takeSnapshot(t, s, acct, other)

			seed := good()
			tc.break_(&seed)
			err := s.Apply(ctx, seed)
			if err == nil || !tc.check(err) {
				t.Fatalf("Apply() = %v, want a matching error", err)
			}
			if diff := cmp.Diff(before, takeSnapshot(t, s, acct, other)); diff != "" {
				t.Fatalf("Apply() with an error changed the store (-before +after)\n%s", diff)
			}
		})
	}
	t.Run("good seed applies", func(t *testing.T) {
		s := openStore(t, "")
		if err := s.Apply(ctx, base); err != nil {
			t.Fatal(err)
		}
		if err := s.Apply(ctx, good()); err != nil {
			t.Fatalf("Apply(good) = %v", err)
		}
		snap := takeSnapshot(t, s, acct, other)
		if len(snap.Accounts) != 2 || len(snap.Roles) != 4 || len(snap.Profiles) != 2 || snap.Accounts[0].Alias != "changed" {
			t.Fatalf("after Apply(good): %+v", snap)
		}
	})
	t.Run("references to stored entities", func(t *testing.T) {
		s := openStore(t, "")
		if err := s.Apply(ctx, base); err != nil {
			t.Fatal(err)
		}
		// Neither the account nor the role is in this seed; both are stored.
		err := s.Apply(ctx, rolestore.Seed{
			Roles:            []rolestore.Role{{AccountID: acct, Name: "extra", TrustPolicy: trust}},
			InstanceProfiles: []rolestore.InstanceProfile{{AccountID: acct, Name: "p", Roles: []string{"WEB"}}},
		})
		if err != nil {
			t.Fatalf("Apply(references to stored) = %v", err)
		}
	})
}

func isValidation(err error) bool {
	var se *rolestore.SeedError
	return errors.As(err, &se)
}

func TestSQLite_Concurrency(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	s := openStore(t, path)
	// A second handle on the same file, as a second process would have.
	s2 := openStore(t, path)
	mustPutAccount(t, s, acct)

	const workers, perWorker = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker*4)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			store := s
			if w%2 == 1 {
				store = s2
			}
			for i := range perWorker {
				r := rolestore.Role{AccountID: acct, Name: fmt.Sprintf("r%d-%d", w, i%5), TrustPolicy: trust}
				got, err := store.PutRole(ctx, r)
				if err != nil {
					errs <- err
					continue
				}
				if _, err := store.RoleByID(ctx, got.ID); err != nil {
					errs <- err
				}
				if _, err := store.Roles(ctx, ""); err != nil {
					errs <- err
				}
				seed := rolestore.Seed{
					Roles:            []rolestore.Role{{AccountID: acct, Name: "shared", TrustPolicy: trust}},
					InstanceProfiles: []rolestore.InstanceProfile{{AccountID: acct, Name: "shared", Roles: []string{"shared"}}},
				}
				if err := store.Apply(ctx, seed); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent op: %v", err)
	}
	roles, err := s.Roles(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if want := workers*5 + 1; len(roles) != want {
		t.Errorf("len(Roles()) = %d, want %d", len(roles), want)
	}
}

func TestOpenSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	s := openStore(t, path)
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != 3 {
		t.Fatalf("SchemaVersion() = %d, %v, want 3", v, err)
	}
	s.Close()

	// Reopening does not re-run migrations.
	s = openStore(t, path)
	if v, _ := s.SchemaVersion(ctx); v != 3 {
		t.Fatalf("SchemaVersion() after reopen = %d, want 3", v)
	}
	s.Close()

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v, want wal", mode, err)
	}
	// A database from a newer imdsemu is refused.
	if _, err := db.Exec(`INSERT INTO schema_version (version) VALUES (99)`); err != nil {
		t.Fatal(err)
	}
	if _, err := rolestore.OpenSQLite(t.Context(), path, rolestore.Options{}); err == nil {
		t.Errorf("OpenSQLite(schema 99) = nil error, want error")
	}

	for _, bad := range []string{"", "a?b"} {
		if _, err := rolestore.OpenSQLite(t.Context(), bad, rolestore.Options{}); err == nil {
			t.Errorf("OpenSQLite(%q) = nil error, want error", bad)
		}
	}
	// A cancelled context stops the open before the schema is touched.
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	fresh := filepath.Join(t.TempDir(), "cancelled.sqlite")
	if s, err := rolestore.OpenSQLite(cancelled, fresh, rolestore.Options{}); !errors.Is(err, context.Canceled) {
		if s != nil {
			s.Close()
		}
		t.Errorf("OpenSQLite(cancelled) = %v, want context.Canceled", err)
	}
	mem := openStore(t, ":memory:")
	mustPutAccount(t, mem, acct)
	if _, err := mem.Account(ctx, acct); err != nil {
		t.Errorf("in-memory Account() = %v", err)
	}
}
