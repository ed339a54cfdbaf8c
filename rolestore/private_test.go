package rolestore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/imdsemu/imdsemu/rolestore"
)

// TestOpenSQLite_FilesArePrivate: the database and its WAL and shared-memory
// files are created 0600 whatever the umask allows, since they hold secret
// keys and MFA seeds.
func TestOpenSQLite_FilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022) // the common default, which would give 0644
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "imdsemu.db")
	s := openStore(t, path)
	mustPutAccount(t, s, acct) // a write, so that the WAL exists
	if _, err := s.Account(context.Background(), acct); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(name)
		if err != nil {
			t.Fatalf("stat %s: %v", filepath.Base(name), err)
		}
		if got := info.Mode().Perm(); got != 0o600 {
			t.Errorf("%s mode = %v, want 0600", filepath.Base(name), got)
		}
	}
}

// TestOpenSQLite_RefusesReadableByOthers: a data directory or a database
// file that group or others can read is refused with the chmod to run,
// including a directory that already existed before imdsemu made it.
func TestOpenSQLite_RefusesReadableByOthers(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir, path string)
		want  string
	}{
		{"directory 0755", func(t *testing.T, dir, path string) { chmod(t, dir, 0o755) }, "chmod 700 "},
		{"directory 0750", func(t *testing.T, dir, path string) { chmod(t, dir, 0o750) }, "chmod 700 "},
		{"database 0644", func(t *testing.T, dir, path string) { chmod(t, path, 0o644) }, "chmod 600 "},
		{"wal 0640", func(t *testing.T, dir, path string) { create(t, path+"-wal", 0o640) }, "chmod 600 "},
		{"shm 0604", func(t *testing.T, dir, path string) { create(t, path+"-shm", 0o604) }, "chmod 600 "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// t.TempDir's own parent is 0700, which keeps everyone else
			// out whatever the modes below it; open it up for the test.
			chmod(t, filepath.Dir(dir), 0o755)
			chmod(t, dir, 0o700)
			path := filepath.Join(dir, "imdsemu.db")
			s := openStore(t, path)
			mustPutAccount(t, s, acct)
			s.Close() // SQLite removes -wal and -shm on a clean close
			tc.setup(t, dir, path)
			_, err := rolestore.OpenSQLite(t.Context(), path, rolestore.Options{})
			if err == nil {
				t.Fatalf("OpenSQLite with %s = nil error, want a refusal", tc.name)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("OpenSQLite with %s = %v, want it to say %q", tc.name, err, tc.want)
			}
		})
	}
}

// TestOpenSQLite_PrivateUnderClosedParent: a 0755 directory inside a 0700
// one is out of everyone else's reach, and accepted.
func TestOpenSQLite_PrivateUnderClosedParent(t *testing.T) {
	dir := t.TempDir()
	chmod(t, filepath.Dir(dir), 0o700)
	chmod(t, dir, 0o755)
	openStore(t, filepath.Join(dir, "imdsemu.db"))
}

// create leaves an empty file, as a crash can leave a -wal or -shm file.
func create(t *testing.T, name string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, nil, mode); err != nil {
		t.Fatal(err)
	}
	chmod(t, name, mode)
}

func chmod(t *testing.T, name string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(name, mode); err != nil {
		t.Fatal(err)
	}
}
