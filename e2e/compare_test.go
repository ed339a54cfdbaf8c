package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// compareRow is a line of "imdsemu compare --json".
type compareRow struct {
	Type        string    `json:"type"`
	Tick        int       `json:"tick"`
	At          time.Time `json:"at"`
	Provider    string    `json:"provider"`
	AccessKeyID string    `json:"access_key_id"`
	Expires     string    `json:"expires"`
	OK          bool      `json:"ok"`
	Identity    string    `json:"identity"`
	Code        string    `json:"code"`
	Error       string    `json:"error"`
	Succeeded   int       `json:"succeeded"`
	Rows        int       `json:"rows"`
	Keys        []string  `json:"keys"`
}

// TestCompare_ProfileVsInstanceRole runs "imdsemu compare" against the real
// emulator, revokes the role while it runs, and reads its JSON: the static
// key never changes and always works; the instance credential rotates, is
// denied after the revocation until the provider fetches a generation
// issued after it, and then works again.
func TestCompare_ProfileVsInstanceRole(t *testing.T) {
	const sessionDuration = 20 * time.Second
	e := startEmulator(t, "--rotation-interval", "3s", "--session-duration", "20s")
	creds := filepath.Join(t.TempDir(), "credentials")
	imdsemu(t, "user", "create", "demo", "--data-dir", e.dataDir)
	imdsemu(t, "key", "create", "demo", "--data-dir", e.dataDir, "--credentials-file", creds, "--profile", "leaked")

	// A refresh 8 s before expiry keeps each fetched generation for 9-12 s
	// (generations are 0-3 s old when fetched), so the one held at the
	// revocation is still used, and denied, for at least one tick after it.
	cmd := exec.Command(binary, "compare", "--credentials-file", creds, "--profile", "leaked",
		"--imds-endpoint", e.endpoint, "--sts-endpoint", e.stsURL(t),
		"--duration", "16s", "--interval", "2s", "--prefetch-window", "8s", "--json")
	cmd.Env = cleanEnv(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		rows  []compareRow
		sums  []compareRow
		lines []string
		bad   []string // lines that are not JSON
	)
	tick1 := make(chan struct{})
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		sc := bufio.NewScanner(stdout)
		seen := 0
		for sc.Scan() {
			var r compareRow
			err := json.Unmarshal(sc.Bytes(), &r)
			mu.Lock()
			lines = append(lines, sc.Text())
			if err != nil {
				bad = append(bad, err.Error())
				mu.Unlock()
				continue
			}
			if r.Type == "summary" {
				sums = append(sums, r)
			} else {
				rows = append(rows, r)
			}
			mu.Unlock()
			if r.Tick == 1 {
				if seen++; seen == 2 {
					close(tick1)
				}
			}
		}
	}()
	output := func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(lines, "\n") + "\nstderr:\n" + stderr.String()
	}
	select {
	case <-tick1:
	case <-eof:
		t.Fatalf("compare ended before its second tick:\n%s", output())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("compare printed no second tick within 60 s:\n%s", output())
	}

	revStart := time.Now()
	out := imdsemu(t, "revoke", "imdsemu-demo", "--data-dir", e.dataDir)
	revEnd := time.Now()
	m := regexp.MustCompile(`issued before (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("revoke printed %q", out)
	}
	revokedAt, err := time.Parse(time.RFC3339, m[1]) // to the second
	if err != nil {
		t.Fatal(err)
	}

	select {
	case <-eof:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("compare did not end within 60 s of its 16 s:\n%s", output())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("compare: %v\n%s", err, output())
	}
	var log strings.Builder
	for _, r := range rows {
		result := r.Identity
		if !r.OK {
			result = "FAIL " + r.Code
		}
		log.WriteString(r.At.Format("15:04:05.000") + " " + r.Provider + " " + r.AccessKeyID + " " + r.Expires + " " + result + "\n")
	}
	t.Logf("revoked at %s; rows:\n%s", revokedAt.Format(time.RFC3339), log.String())
	if len(bad) > 0 {
		t.Errorf("compare printed %d lines that are not JSON: %v", len(bad), bad)
	}

	var (
		staticKeys             = map[string]bool{}
		roleKeys               = map[string]bool{}
		denied, recovered, all int
	)
	for _, r := range rows {
		switch r.Provider {
		case "profile":
			staticKeys[r.AccessKeyID] = true
			if !r.OK || r.Identity != "arn:aws:iam::123456789012:user/demo" || r.Expires != "never" || !strings.HasPrefix(r.AccessKeyID, "AKIA") {
				t.Errorf("tick %d: static key row %+v, want AKIA… of user/demo, never expiring, working", r.Tick, r)
			}
		case "imds":
			all++
			roleKeys[r.AccessKeyID] = true
			expires, err := time.Parse(time.RFC3339, r.Expires)
			if err != nil {
				t.Errorf("tick %d: role row expires %q: %v", r.Tick, r.Expires, err)
				continue
			}
			issued := expires.Add(-sessionDuration)
			switch {
			case r.At.Before(revStart):
				if !r.OK || !strings.HasPrefix(r.Identity, "arn:aws:sts::123456789012:assumed-role/imdsemu-demo/") {
					t.Errorf("tick %d, before the revocation: %+v, want the assumed role", r.Tick, r)
				}
			case r.At.Before(revEnd):
				// The revocation was being written: either answer is right.
			case !issued.After(revokedAt):
				// Issued before the revocation (or in its second: docs/sts.md).
				denied++
				if r.OK || r.Code != "AccessDenied" {
					t.Errorf("tick %d: %s issued %s, revoked at %s: ok=%v code=%q, want AccessDenied", r.Tick, r.AccessKeyID, issued.Format(time.RFC3339), revokedAt.Format(time.RFC3339), r.OK, r.Code)
				}
			default:
				recovered++
				if !r.OK || !strings.HasPrefix(r.Identity, "arn:aws:sts::123456789012:assumed-role/imdsemu-demo/") {
					t.Errorf("tick %d: %s issued %s, after the revocation at %s: %+v, want it to work", r.Tick, r.AccessKeyID, issued.Format(time.RFC3339), revokedAt.Format(time.RFC3339), r)
				}
			}
		default:
			t.Errorf("row of unknown provider %q", r.Provider)
		}
	}
	if all != 9 || len(rows) != 18 {
		t.Errorf("%d rows, %d of imds; want 9 ticks of 2 providers (16 s every 2 s)", len(rows), all)
	}
	if len(staticKeys) != 1 {
		t.Errorf("static keys seen: %d, want 1", len(staticKeys))
	}
	if len(roleKeys) < 2 {
		t.Errorf("instance keys seen: %d, want at least 2 (rotation)", len(roleKeys))
	}
	if denied == 0 {
		t.Error("no instance credential was denied after the revocation")
	}
	if recovered == 0 {
		t.Error("the instance provider never fetched a generation issued after the revocation")
	}
	if len(sums) != 2 || sums[0].Provider != "profile" || sums[0].Succeeded != sums[0].Rows || sums[1].Provider != "imds" || len(sums[1].Keys) != len(roleKeys) {
		t.Errorf("summaries %+v, want profile all ok and imds with %d keys", sums, len(roleKeys))
	}
}
