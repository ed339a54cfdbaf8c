package credprovider

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"
)

// Fake secrets: test output never prints them anyway.
const (
	secretA = "fakeSecretAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	secretB = "fakeSecretBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
	tokenA  = "fakeTokenAAAA"
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

// keysOf renders credentials for messages: the key id and whether secrets
// are present, never the secrets.
func keysOf(c aws.Credentials) string {
	return c.AccessKeyID + " secret:" + yes(c.SecretAccessKey != "") + " token:" + yes(c.SessionToken != "")
}

func yes(b bool) string {
	if b {
		return "set"
	}
	return "empty"
}

func TestProfile_Retrieve(t *testing.T) {
	cases := map[string]struct {
		file, profile string
		want          aws.Credentials
		wantErr       string // substring; the error must also name file and profile
	}{
		"default profile": {
			file: "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = " + secretA + "\n",
			want: aws.Credentials{AccessKeyID: "AKIADEFAULT", SecretAccessKey: secretA, Source: ProfileSource},
		},
		"named profile among others, comments, upper-case keys": {
			file: "# written by imdsemu\n[default]\naws_access_key_id=AKIADEFAULT\naws_secret_access_key=" + secretB +
				"\n\n[leaked] ; the demo key\nAWS_ACCESS_KEY_ID = AKIALEAKED  # id\nAws_Secret_Access_Key = " + secretA + "\n",
			profile: "leaked",
			want:    aws.Credentials{AccessKeyID: "AKIALEAKED", SecretAccessKey: secretA, Source: ProfileSource},
		},
		"session token and account": {
			file:    "[tmp]\naws_access_key_id = ASIATMP\naws_secret_access_key = " + secretA + "\naws_session_token = " + tokenA + "\naws_account_id = 123456789012\n",
			profile: "tmp",
			want:    aws.Credentials{AccessKeyID: "ASIATMP", SecretAccessKey: secretA, SessionToken: tokenA, AccountID: "123456789012", Source: ProfileSource},
		},
		"missing profile": {
			file:    "[default]\naws_access_key_id = A\naws_secret_access_key = " + secretA + "\n",
			profile: "nope",
			wantErr: "profile not found",
		},
		"profile names are case-sensitive": {
			file:    "[Leaked]\naws_access_key_id = A\naws_secret_access_key = " + secretA + "\n",
			profile: "leaked",
			wantErr: "profile not found",
		},
		"no keys (a role profile)": {
			file:    "[r]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n",
			profile: "r",
			wantErr: "no static keys",
		},
		"secret without id": {
			file:    "[default]\naws_secret_access_key = " + secretA + "\n",
			wantErr: "aws_secret_access_key without aws_access_key_id",
		},
		"id without secret": {
			file:    "[default]\naws_access_key_id = AKIAX\n",
			wantErr: "aws_access_key_id without aws_secret_access_key",
		},
		"syntax error names the line, not its text": {
			file:    "[default]\naws_access_key_id = AKIAX\naws_secret_access_key " + secretA + "\n",
			wantErr: "line 3: expected a [profile] header or a key = value property",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "credentials")
			writeFile(t, path, tc.file, time.Now())
			p := NewProfile(func(o *ProfileOptions) {
				o.Filename, o.Profile = path, tc.profile
				o.Getenv = func(string) string { return "" }
			})
			got, err := p.Retrieve(context.Background())
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("Retrieve = %s, want error %q", keysOf(got), tc.wantErr)
				}
				msg := err.Error()
				if strings.Contains(msg, secretA) || strings.Contains(msg, secretB) {
					t.Fatalf("Retrieve error contains a secret key (%d bytes of message)", len(msg))
				}
				var pe *ProfileError
				if !errors.As(err, &pe) || pe.File != path || pe.Profile != p.Name() {
					t.Errorf("Retrieve error %q is not a ProfileError naming %s and %q", msg, path, p.Name())
				}
				if !strings.Contains(msg, tc.wantErr) || !strings.Contains(msg, path) || !strings.Contains(msg, `"`+p.Name()+`"`) {
					t.Errorf("Retrieve error %q, want it to contain %q, the file and the profile", msg, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Retrieve error %v", err)
			}
			if got != tc.want {
				t.Errorf("Retrieve = %s, want %s (or secrets differ)", keysOf(got), keysOf(tc.want))
			}
			if got.CanExpire {
				t.Error("static keys CanExpire = true, want false")
			}
		})
	}
}

func TestProfile_Defaults(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	homeFile := filepath.Join(home, ".aws", "credentials")
	writeFile(t, homeFile, "[default]\naws_access_key_id = AKIAHOME\naws_secret_access_key = "+secretA+"\n[dev]\naws_access_key_id = AKIAHOMEDEV\naws_secret_access_key = "+secretA+"\n", time.Now())
	envFile := filepath.Join(t.TempDir(), "creds")
	writeFile(t, envFile, "[default]\naws_access_key_id = AKIAENV\naws_secret_access_key = "+secretA+"\n", time.Now())

	cases := map[string]struct {
		env     map[string]string
		wantKey string
	}{
		"home, default":          {nil, "AKIAHOME"},
		"home, AWS_PROFILE":      {map[string]string{"AWS_PROFILE": "dev"}, "AKIAHOMEDEV"},
		"AWS_SHARED_CREDENTIALS": {map[string]string{"AWS_SHARED_CREDENTIALS_FILE": envFile}, "AKIAENV"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := NewProfile(func(o *ProfileOptions) {
				o.Getenv = func(k string) string { return tc.env[k] }
				o.HomeDir = func() (string, error) { return home, nil }
			})
			got, err := p.Retrieve(context.Background())
			if err != nil || got.AccessKeyID != tc.wantKey {
				t.Errorf("Retrieve = %q, %v; want %s", got.AccessKeyID, err, tc.wantKey)
			}
		})
	}

	t.Run("no home", func(t *testing.T) {
		p := NewProfile(func(o *ProfileOptions) {
			o.Getenv = func(string) string { return "" }
			o.HomeDir = func() (string, error) { return "", errors.New("no home") }
		})
		if _, err := p.Retrieve(context.Background()); err == nil || !strings.Contains(err.Error(), "AWS_SHARED_CREDENTIALS_FILE") {
			t.Errorf("Retrieve error %v, want one naming AWS_SHARED_CREDENTIALS_FILE", err)
		}
	})
}

// TestProfile_ReloadOnModTime: the file is looked at once per
// RefreshInterval and re-parsed only when its modification time advanced,
// as in Java v1.
func TestProfile_ReloadOnModTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	file := func(id string) string {
		return "[default]\naws_access_key_id = " + id + "\naws_secret_access_key = " + secretA + "\n"
	}
	base := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	writeFile(t, path, file("AKIAONE"), base)
	now := base
	p := NewProfile(func(o *ProfileOptions) {
		o.Filename = path
		o.Now = func() time.Time { return now }
	})

	steps := []struct {
		desc    string
		advance time.Duration // the clock, before Retrieve
		write   string        // new content, if any
		mtime   time.Duration // after base, for written or touched files
		touch   bool
		remove  bool
		wantKey string
		wantErr string
	}{
		{desc: "first read", wantKey: "AKIAONE"},
		{desc: "rewritten, but within the interval", advance: time.Minute, write: file("AKIATWO"), mtime: time.Minute, wantKey: "AKIAONE"},
		{desc: "interval passed, mtime advanced", advance: 4 * time.Minute, wantKey: "AKIATWO"},
		{desc: "rewritten with the same mtime: not re-read", advance: 5 * time.Minute, write: file("AKIATHREE"), mtime: time.Minute, wantKey: "AKIATWO"},
		{desc: "mtime moves back: not re-read", advance: 5 * time.Minute, touch: true, mtime: -time.Hour, wantKey: "AKIATWO"},
		{desc: "mtime advances", advance: 5 * time.Minute, touch: true, mtime: time.Hour, wantKey: "AKIATHREE"},
		{desc: "broken file", advance: 5 * time.Minute, write: "[default\n", mtime: 2 * time.Hour, wantErr: "line 1"},
		{desc: "still broken: the error stays until the file changes", advance: 5 * time.Minute, wantErr: "line 1"},
		{desc: "fixed", advance: 5 * time.Minute, write: file("AKIAFOUR"), mtime: 3 * time.Hour, wantKey: "AKIAFOUR"},
		{desc: "deleted: the keys stay", advance: 5 * time.Minute, remove: true, wantKey: "AKIAFOUR"},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		switch {
		case s.write != "":
			writeFile(t, path, s.write, base.Add(s.mtime))
		case s.touch:
			if err := os.Chtimes(path, base.Add(s.mtime), base.Add(s.mtime)); err != nil {
				t.Fatal(err)
			}
		case s.remove:
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}
		got, err := p.Retrieve(context.Background())
		if s.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), s.wantErr) {
				t.Errorf("%s: Retrieve = %q, %v; want error with %q", s.desc, got.AccessKeyID, err, s.wantErr)
			}
			continue
		}
		if err != nil || got.AccessKeyID != s.wantKey {
			t.Errorf("%s: Retrieve = %q, %v; want %s", s.desc, got.AccessKeyID, err, s.wantKey)
		}
	}
}

func TestProfile_MissingFileRetriedEveryCall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	now := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	p := NewProfile(func(o *ProfileOptions) {
		o.Filename = path
		o.Now = func() time.Time { return now }
	})
	_, err := p.Retrieve(context.Background())
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Retrieve of a missing file = %v, want a not-exist error naming it", err)
	}
	writeFile(t, path, "[default]\naws_access_key_id = AKIALATE\naws_secret_access_key = "+secretA+"\n", now)
	if got, err := p.Retrieve(context.Background()); err != nil || got.AccessKeyID != "AKIALATE" {
		t.Errorf("Retrieve once the file exists = %q, %v; want AKIALATE at once", got.AccessKeyID, err)
	}
}

func TestProfile_NegativeIntervalChecksEveryCall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	base := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	writeFile(t, path, "[default]\naws_access_key_id = AKIAONE\naws_secret_access_key = "+secretA+"\n", base)
	p := NewProfile(func(o *ProfileOptions) {
		o.Filename, o.RefreshInterval = path, -1
		o.Now = func() time.Time { return base }
	})
	var ids []string
	for _, id := range []string{"AKIAONE", "AKIATWO"} {
		writeFile(t, path, "[default]\naws_access_key_id = "+id+"\naws_secret_access_key = "+secretA+"\n", base.Add(time.Duration(len(ids))*time.Second))
		got, err := p.Retrieve(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got.AccessKeyID)
	}
	if diff := cmp.Diff([]string{"AKIAONE", "AKIATWO"}, ids); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}
