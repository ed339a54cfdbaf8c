package keyfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreate_CreatesOnceAndReuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sealing.key")
	first, err := LoadOrCreate(path, 32, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %v, want 0600", got)
	}
	again, err := LoadOrCreate(path, 32, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) {
		t.Error("second LoadOrCreate returned a different key")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key (temp file left behind?)", len(entries))
	}
}

func TestLoadOrCreate_Rejects(t *testing.T) {
	cases := []struct {
		name    string
		content []byte
		mode    os.FileMode
		want    string
	}{
		{"WrongSize", []byte("short"), 0o600, "holds 5 bytes, want 32"},
		{"WorldReadable", bytes.Repeat([]byte{1}, 32), 0o644, "must not be readable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k")
			if err := os.WriteFile(path, tc.content, tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreate(path, 32, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadOrCreate = %v, want error containing %q", err, tc.want)
			}
		})
	}
}

// readerThatRaces is a random source that, as the new key is generated,
// lets another process create the key file first.
type readerThatRaces struct {
	path  string
	their []byte
}

func (r readerThatRaces) Read(p []byte) (int, error) {
	if err := os.WriteFile(r.path, r.their, 0o600); err != nil {
		return 0, err
	}
	return copy(p, bytes.Repeat([]byte{0xAA}, len(p))), nil
}

func TestLoadOrCreate_AnotherProcessCreatedItFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sealing.key")
	theirs := bytes.Repeat([]byte{0x55}, 32)
	got, err := LoadOrCreate(path, 32, readerThatRaces{path: path, their: theirs})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, theirs) {
		t.Error("LoadOrCreate returned its own key, not the one already on disk")
	}
	if onDisk, _ := os.ReadFile(path); !bytes.Equal(onDisk, theirs) {
		t.Error("LoadOrCreate replaced the key another process created")
	}
}

// racingReader plays another process that creates the key file while this
// one is generating its own: its Read writes theirs at path first.
type racingReader struct {
	path   string
	theirs []byte
	t      *testing.T
}

func (r racingReader) Read(p []byte) (int, error) {
	if err := os.WriteFile(r.path, r.theirs, 0o600); err != nil {
		r.t.Fatal(err)
	}
	for i := range p {
		p[i] = 0xAA
	}
	return len(p), nil
}

// TestLoadOrCreate_AnotherProcessFirst: when another process creates the
// key between this one's look and its link, both end up with theirs, and
// no temporary file is left.
func TestLoadOrCreate_AnotherProcessFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sealing.key")
	theirs := bytes.Repeat([]byte{0x55}, 32)
	got, err := LoadOrCreate(path, 32, racingReader{path: path, theirs: theirs, t: t})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, theirs) {
		t.Errorf("LoadOrCreate = %x, want the other process's key %x", got, theirs)
	}
	if onDisk, _ := os.ReadFile(path); !bytes.Equal(onDisk, theirs) {
		t.Errorf("file holds %x, want the other process's key", onDisk)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key", len(entries))
	}
}
