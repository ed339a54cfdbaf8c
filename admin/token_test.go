package admin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadToken(t *testing.T) {
	dir := t.TempDir()
	good := "k2dBC6nLkI8qvTivLnl5zckrPFC5r_rFUhGsbiVQh9g"
	for _, tc := range []struct {
		name, content string
		mode          os.FileMode
		want, err     string
	}{
		{"base64url with a newline", good + "\n", 0o400, good, ""},
		{"base64 with padding, group-readable (fsGroup)", "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq8=", 0o440, "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq8=", ""},
		{"world-readable, as Kubernetes and podman mount secrets", good, 0o644, good, ""},
		{"world-writable", good, 0o666, "", "others may write it"},
		{"placeholder", "REPLACE ME: openssl rand -base64 32 | tr -d =", 0o400, "", "may hold only"},
		{"short", "abc", 0o600, "", "32 to 256 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(p, []byte(tc.content), tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tc.mode); err != nil {
				t.Fatal(err)
			}
			got, err := ReadToken(p)
			if tc.err == "" && (err != nil || got != tc.want) {
				t.Errorf("ReadToken = %q, %v; want %q", got, err, tc.want)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("ReadToken = %q, %v; want an error saying %q", got, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), tc.content) && tc.content != "" {
				t.Errorf("the error shows the file's content: %v", err)
			}
		})
	}
	if _, err := ReadToken(filepath.Join(dir, "missing")); err == nil {
		t.Error("ReadToken of a missing file succeeded")
	}
}
