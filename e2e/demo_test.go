package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// demoOutcome is one actor line of a narrated step: "✓ ACTOR STS CODE".
var demoOutcome = regexp.MustCompile(`(?m)^\s+(✓|✗[^,]*,) (\S+)\s+STS (\S+)`)

// demoStep is a step's heading: "[ 44s] 3. Title".
var demoStep = regexp.MustCompile(`(?m)^\[\s*\d+s\] (\d+)\. `)

// TestDemo_RolesVsKeys runs "imdsemu demo roles-vs-keys" from the built
// binary: it starts its own server, every actor's credentials are used in
// SigV4-signed STS calls, and it exits 0 only when every step behaved as
// narrated. The test also holds each step's outcomes to the story and
// checks that the demo left nothing in its temporary directory.
func TestDemo_RolesVsKeys(t *testing.T) {
	tmp := t.TempDir()
	cmd := exec.Command(binary, "demo", "roles-vs-keys")
	cmd.Env = cleanEnv(t, "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("output:\n%s", stdout.String())
	if err != nil {
		t.Fatalf("imdsemu demo roles-vs-keys: %v\nstderr:\n%s", err, stderr.String())
	}

	// Each step's outcomes, in the order narrated.
	want := map[int][]string{
		1: {"app-with-key ok", "app-with-role ok"},
		2: {"thief-with-key ok", "thief-with-role-copy ok", "app-with-key ok", "app-with-role ok"},
		3: {"thief-with-role-copy ExpiredToken", "thief-with-key ok", "app-with-role ok", "app-with-key ok"},
		// app-with-role is AccessDenied too unless a rotation fell between.
		4: {"thief-with-role-copy ok", "thief-with-role-copy AccessDenied", "app-with-role *", "thief-with-key ok"},
		5: {"app-with-role ok", "thief-with-role-copy AccessDenied", "thief-with-key ok", "app-with-key ok"},
		6: {"thief-with-key InvalidClientTokenId", "app-with-key InvalidClientTokenId", "app-with-role ok"},
		7: {"app-with-key ok", "thief-with-key InvalidClientTokenId", "thief-with-role-copy AccessDenied", "app-with-role ok"},
	}
	got := map[int][]string{}
	out := stdout.String()
	heads := demoStep.FindAllStringSubmatchIndex(out, -1)
	for i, h := range heads {
		n, _ := strconv.Atoi(out[h[2]:h[3]])
		end := len(out)
		if i+1 < len(heads) {
			end = heads[i+1][0]
		}
		for _, m := range demoOutcome.FindAllStringSubmatch(out[h[1]:end], -1) {
			if m[1] != "✓" {
				t.Errorf("step %d: %s not as narrated: %s", n, m[2], m[3])
			}
			got[n] = append(got[n], m[2]+" "+m[3])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d steps narrated, want %d", len(got), len(want))
	}
	for n, ws := range want {
		if len(got[n]) != len(ws) {
			t.Errorf("step %d: outcomes %q, want %q", n, got[n], ws)
			continue
		}
		for i, w := range ws {
			if g := got[n][i]; g != w && !(w == "app-with-role *" && (g == "app-with-role AccessDenied" || g == "app-with-role ok")) {
				t.Errorf("step %d: outcome %d is %q, want %q", n, i+1, g, w)
			}
		}
	}
	if !bytes.Contains(stdout.Bytes(), []byte("Every step behaved as narrated")) {
		t.Error("no closing line")
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("the demo left %s in its temporary directory", e.Name())
	}
}
