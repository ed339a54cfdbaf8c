package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imdsemu/imdsemu/lab/probes"
)

// labSummary is a "type":"summary" line of "imdsemu compare --json".
type labSummary struct {
	Type           string         `json:"type"`
	Lane           string         `json:"lane"`
	Kind           string         `json:"kind"`
	Calls          int            `json:"calls"`
	RetrieveErrors int            `json:"retrieve_errors"`
	FailedChecks   int            `json:"failed_checks"`
	Checks         map[string]int `json:"checks"`
	LastCheck      string         `json:"last_check"`
	IMDSRequests   int            `json:"imds_requests"`
	What           string         `json:"what"` // of an "expectation_failed" line
}

// TestLab_Scenarios runs two shipped scenarios of the provider lab with the
// Java models, the profile key, the thief and every real SDK whose probe
// runs here (all of them in CI), and holds every lane to the scenario's
// expectations: compare exits 1 when one is not met.
func TestLab_Scenarios(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	lanes := []string{"profile", "java-v1-sync@1.11", "java-v1-sync@1.12-2024", "java-v1-async@1.11", "java-v1-async@1.12-2024",
		"java-v2-sync", "java-v2-async", "stolen"}
	for _, p := range probes.All() {
		if err := p.Available(context.Background(), root); err != nil {
			if !errors.Is(err, probes.ErrMissing) || os.Getenv("CI") != "" {
				t.Errorf("%v; .ci/run should have installed it", err)
			} else {
				t.Logf("lane %s not run: %v", p.Name, err)
			}
			continue
		}
		lanes = append(lanes, p.Name)
	}
	for _, sc := range []string{"outage-across-expiry", "key-leak"} {
		t.Run(sc, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(binary, "compare", "--scenario", sc, "--lanes", strings.Join(lanes, ","), "--json", "--repo", root,
				"--report", filepath.Join(t.TempDir(), "report"))
			cmd.Env = cleanEnv(t, "GOFLAGS="+os.Getenv("GOFLAGS"), "GOCACHE="+goEnv(t, "GOCACHE"), "GOPATH="+goEnv(t, "GOPATH"))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			runErr := cmd.Run()
			seen := map[string]labSummary{}
			var unmet []string
			sc := bufio.NewScanner(&stdout)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				var s labSummary
				if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
					t.Errorf("not a JSON line: %q", sc.Text())
					continue
				}
				switch s.Type {
				case "summary":
					seen[s.Lane] = s
					t.Logf("%-24s calls %d, retrieve errors %d, checks %v, IMDS requests %d", s.Lane, s.Calls, s.RetrieveErrors, s.Checks, s.IMDSRequests)
				case "expectation_failed":
					unmet = append(unmet, s.Lane+": "+s.What)
				}
			}
			if runErr != nil {
				t.Fatalf("compare: %v\nexpectations not met:\n  %s\nstderr:\n%s", runErr, strings.Join(unmet, "\n  "), stderr.String())
			}
			for _, l := range lanes {
				found := false
				for name, s := range seen {
					base, _, _ := strings.Cut(name, "@")
					if name == l || base == l || (l == "stolen" && strings.HasPrefix(name, "stolen-")) {
						found = true
						if s.Calls == 0 {
							t.Errorf("lane %s made no calls", name)
						}
					}
				}
				if !found {
					t.Errorf("no summary for lane %s", l)
				}
			}
		})
	}
}

// goEnv is a go env value, so the Go probes build with the caller's caches.
func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}
