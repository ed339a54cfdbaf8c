package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestCreate_WritesWithMode(t *testing.T) {
	for _, perm := range []fs.FileMode{0o600, 0o644} {
		t.Run(perm.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key")
			if err := Create(path, []byte("secret"), perm); err != nil {
				t.Fatal(err)
			}
			assertFile(t, path, "secret", perm)
			assertOnlyEntry(t, path)
		})
	}
}

// Another process created the file first: Create must keep its content and
// say so with fs.ErrExist, leaving no temporary file behind.
func TestCreate_ExistingFileWins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte("theirs"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Create(path, []byte("ours"), 0o600)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Create over an existing file = %v, want fs.ErrExist", err)
	}
	assertFile(t, path, "theirs", 0o600)
	assertOnlyEntry(t, path)
}

// Many writers race to create one file: exactly one wins and the file holds
// the winner's bytes whole.
func TestCreate_RaceHasOneWinner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = Create(path, []byte(fmt.Sprintf("writer-%02d", i)), 0o600) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both created the file", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, fs.ErrExist):
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer created the file")
	}
	assertFile(t, path, fmt.Sprintf("writer-%02d", winner), 0o600)
	assertOnlyEntry(t, path)
}

func TestReplace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Replace(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, "new", 0o600)
	assertOnlyEntry(t, path)
}

func TestMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent", "key")
	if err := Create(path, []byte("x"), 0o600); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Create = %v, want fs.ErrNotExist", err)
	}
	if err := Replace(path, []byte("x"), 0o600); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Replace = %v, want fs.ErrNotExist", err)
	}
}

func assertFile(t *testing.T, path, want string, perm fs.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s holds %q, want %q", path, got, want)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != perm {
		t.Errorf("%s has mode %v, want %v", path, info.Mode().Perm(), perm)
	}
}

// assertOnlyEntry fails if the directory of path holds anything else, such as
// a temporary file left behind.
func assertOnlyEntry(t *testing.T, path string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != filepath.Base(path) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only %s", names, filepath.Base(path))
	}
}
