package credfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSetProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aws", "credentials")
	if err := SetProfile(path, "alice", "AKIAONE", "secret-one"); err != nil {
		t.Fatal(err)
	}
	want := "[alice]\naws_access_key_id = AKIAONE\naws_secret_access_key = secret-one\n"
	assertFile(t, path, want)

	// Other sections and comments are kept; the profile's section is replaced.
	if err := os.WriteFile(path, []byte("# mine\n[default]\nregion = eu-west-1\n\n[alice]\naws_access_key_id = OLD\n\n[bob]\naws_access_key_id = AKIABOB\n\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SetProfile(path, "alice", "AKIATWO", "secret-two"); err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, "# mine\n[default]\nregion = eu-west-1\n\n[bob]\naws_access_key_id = AKIABOB\n\n[alice]\naws_access_key_id = AKIATWO\naws_secret_access_key = secret-two\n")

	for _, bad := range []string{"", "a]b", "a\nb"} {
		if err := SetProfile(path, bad, "AKIA", "s"); err == nil {
			t.Errorf("profile %q: no error", bad)
		}
	}
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("file holds\n%q\nwant\n%q", got, want)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
}
