package rolestore

import (
	"database/sql"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// A database written before groups were entities (schema 2, group names in
// users.groups_json) migrates to groups with those members.
func TestMigrate_GroupNamesBecomeGroups(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	if err := ensurePrivate(path); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{
		`CREATE TABLE schema_version (version INTEGER PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL DEFAULT '')`,
		migrations()[0], migrations()[1],
		`INSERT INTO schema_version (version) VALUES (1), (2)`,
		`INSERT INTO accounts (id) VALUES ('111122223333')`,
		`INSERT INTO users (account_id, name, path, user_id, groups_json, policies, tags, created_at) VALUES
			('111122223333', 'alice', '/', 'AIDAAAAAAAAAAAAAAAAAA', '["devs","Ops"]', '{}', '[]', 1),
			('111122223333', 'bob', '/', 'AIDABBBBBBBBBBBBBBBBB', '["DEVS"]', '{}', '[]', 2)`,
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := OpenSQLite(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v != len(migrations()) {
		t.Errorf("schema version %d", v)
	}
	alice, err := s.User(ctx, "111122223333", "alice")
	if err != nil || !slices.Equal(alice.Groups, []string{"devs", "Ops"}) {
		t.Fatalf("alice = %+v, %v", alice, err)
	}
	bob, _ := s.User(ctx, "111122223333", "bob")
	if !slices.Equal(bob.Groups, []string{"devs"}) {
		t.Errorf("bob's groups = %v (the group names are one group without regard to case)", bob.Groups)
	}
	gs, err := s.Groups(ctx, "111122223333")
	if err != nil || len(gs) != 2 {
		t.Fatalf("Groups = %+v, %v", gs, err)
	}
	for _, g := range gs {
		if !regexp.MustCompile(`^AGPA[A-Z0-9]{17}$`).MatchString(g.ID) || g.Validate() != nil {
			t.Errorf("migrated group %+v: %v", g, g.Validate())
		}
	}
}
