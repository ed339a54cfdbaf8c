package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// definedMetric reports whether imdsemu's source (the module this test
// runs in) defines a metric called name, as a Go string literal in a
// non-test file.
func definedMetric(t *testing.T, name string) bool {
	t.Helper()
	found := false
	lit := `"` + name + `"`
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || found {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "e2e" || n == "node_modules" || strings.HasPrefix(n, ".") && path != ".." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found = strings.Contains(string(b), lit)
		return nil
	})
	if err != nil {
		t.Fatalf("reading the source for metric %s: %v", name, err)
	}
	return found
}

func TestDefinedMetric(t *testing.T) {
	for name, want := range map[string]bool{
		"imdsemu_imds_no_token_requests_total": true,
		"imdsemu_faults_fired_total":           true,
		"imdsemu_imds_no_token_request_total":  false,
		"imdsemu_no_such_metric_total":         false,
	} {
		if got := definedMetric(t, name); got != want {
			t.Errorf("definedMetric(%q) = %v, want %v", name, got, want)
		}
	}
}
