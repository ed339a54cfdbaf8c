package credprovider

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func writeFile(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func newProfile(file, name string) *Profile {
	return NewProfile(func(o *ProfileOptions) {
		o.Filename, o.Profile = file, name
		o.Getenv = func(string) string { return "" }
	})
}

// Row "profile file", dialect: Java v1's AbstractProfilesConfigFileScanner
// trims each line, skips "" and "#" lines only, needs a header to end with
// ']', splits properties at the first '=' with no inline comments, and
// BasicProfile reads the keys spelled exactly.
func TestProfile_JavaV1Dialect(t *testing.T) {
	cases := map[string]struct {
		file    string
		wantKey string // "" when an error is wanted
		wantErr string
	}{
		"plain": {file: "[default]\naws_access_key_id = AKIAPLAIN\naws_secret_access_key = " + secretA + "\n", wantKey: "AKIAPLAIN"},
		"hash comment, padded header": {
			file: "# written by imdsemu\n  [ default ]  \naws_access_key_id=AKIAHASH\naws_secret_access_key=" + secretA + "\n", wantKey: "AKIAHASH"},
		"inline comment is part of the value": {
			file: "[default]\naws_access_key_id = AKIAINLINE # rotated\naws_secret_access_key = " + secretA + "\n", wantKey: "AKIAINLINE # rotated"},
		"semicolon is not a comment": {
			file: "[default]\n; a note\naws_access_key_id = AKIA\naws_secret_access_key = " + secretA + "\n", wantErr: "line 2: invalid property format"},
		"comment after the header": {
			file: "[default] # demo\naws_access_key_id = AKIA\naws_secret_access_key = " + secretA + "\n", wantErr: "line 1: invalid property format"},
		"upper-case keys are other keys": {
			file: "[default]\nAWS_ACCESS_KEY_ID = AKIAUPPER\nAWS_SECRET_ACCESS_KEY = " + secretA + "\n", wantErr: "no static keys"},
		"property before a profile": {file: "aws_access_key_id = AKIA\n", wantErr: "line 1: property is defined without a preceding profile name"},
		"missing profile":           {file: "[other]\naws_access_key_id = AKIA\naws_secret_access_key = " + secretA + "\n", wantErr: "profile not found"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "credentials")
			writeFile(t, file, tc.file, time.Now())
			c, err := newProfile(file, "default").Retrieve(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), file) {
					t.Fatalf("err %v, want one naming the file and containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), secretA) {
					t.Fatal("the error shows the secret")
				}
				return
			}
			if err != nil || c.AccessKeyID != tc.wantKey || c.SecretAccessKey != secretA || c.CanExpire {
				t.Fatalf("got %q (expires %v), err %v; want %q, never expiring", c.AccessKeyID, c.CanExpire, err, tc.wantKey)
			}
		})
	}
}

// Row "profile file", timing: ProfileCredentialsProvider.getCredentials
// refreshes when lastRefreshed is over DEFAULT_REFRESH_INTERVAL_NANOS
// (5 min) old, one caller through refreshSemaphore.tryAcquire, and every
// caller past DEFAULT_FORCE_RELOAD_INTERVAL_NANOS (10 min);
// ProfilesConfigFile.refresh re-parses only when lastModified() grew, and a
// deleted file (lastModified() = 0) leaves the keys.
func TestProfile_JavaV1Reload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "credentials")
		keys := func(id string) string {
			return "[default]\naws_access_key_id = " + id + "\naws_secret_access_key = " + secretA + "\n"
		}
		t0 := time.Now()
		writeFile(t, file, keys("AKIAONE"), t0)
		p := newProfile(file, "default")
		if k, out := get(t, p); k != "AKIAONE" || out.Source != SourceFetch {
			t.Fatalf("first call: %s %+v", k, out)
		}
		writeFile(t, file, keys("AKIATWO"), t0.Add(time.Minute))
		time.Sleep(5 * time.Minute) // exactly 5 min: not over the interval
		if k, _ := get(t, p); k != "AKIAONE" {
			t.Fatalf("at 5 min: %s, want AKIAONE (the check needs more than 5 min)", k)
		}
		time.Sleep(time.Second)
		if k, out := get(t, p); k != "AKIATWO" || out.Source != SourceFetch {
			t.Fatalf("after 5 min: %s %+v, want the re-parsed AKIATWO", k, out)
		}

		// While one caller refreshes (holding the semaphore), another past
		// 5 min does not wait; past 10 min it does.
		writeFile(t, file, keys("AKIATHREE"), t0.Add(2*time.Minute))
		time.Sleep(5*time.Minute + time.Second)
		p.refresh <- struct{}{}
		if k, out := get(t, p); k != "AKIATWO" || out.Blocked {
			t.Fatalf("past 5 min, refresh in progress: %s %+v, want AKIATWO without waiting", k, out)
		}
		time.Sleep(5 * time.Minute)
		var wg sync.WaitGroup
		var forced string
		wg.Go(func() { forced, _ = get(t, p) })
		synctest.Wait() // the forced caller waits for the semaphore
		<-p.refresh
		wg.Wait()
		if forced != "AKIATHREE" {
			t.Fatalf("past 10 min: %s, want the forced reload's AKIATHREE", forced)
		}

		if err := os.Remove(file); err != nil {
			t.Fatal(err)
		}
		time.Sleep(11 * time.Minute)
		if k, err := p.Retrieve(context.Background()); err != nil || k.AccessKeyID != "AKIATHREE" {
			t.Fatalf("file deleted: %q, %v; want AKIATHREE to survive", k.AccessKeyID, err)
		}
	})
}

// A missing file fails the first call (ProfilesConfigFile's constructor
// throws) and is looked for again on the next.
func TestProfile_MissingFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "credentials")
	p := newProfile(file, "default")
	if _, err := p.Retrieve(context.Background()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err %v, want ErrNotExist", err)
	}
	writeFile(t, file, "[default]\naws_access_key_id = AKIALATE\naws_secret_access_key = "+secretA+"\n", time.Now())
	if c, err := p.Retrieve(context.Background()); err != nil || c.AccessKeyID != "AKIALATE" {
		t.Fatalf("%q, %v; want AKIALATE once the file exists", c.AccessKeyID, err)
	}
}
