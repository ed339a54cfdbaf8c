package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium (.ci/run installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	cannotRun(t, "chromium is not installed (apt-get install chromium); the dashboard test drives it with chromedp")
	return ""
}

// adminCall sends one control API request with the admin token, fails the
// test unless it succeeds, and decodes the JSON answer into out (when
// non-nil).
func adminCall(t *testing.T, e *emulator, method, path, body string, out any) {
	t.Helper()
	code, data := e.api(t, method, path, body)
	if code/100 != 2 {
		t.Fatalf("%s %s = %d: %s", method, path, code, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

// maxSeq is the newest generation of the instance's profile.
func maxSeq(t *testing.T, e *emulator) uint64 {
	t.Helper()
	var n uint64
	for _, g := range e.generations(t) {
		n = max(n, g.Seq)
	}
	return n
}

// stsEndpoint is the STS endpoint serve printed.
func stsEndpoint(t *testing.T, e *emulator) string {
	t.Helper()
	for _, l := range strings.Split(e.stdout.String(), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "export AWS_ENDPOINT_URL_STS="); ok {
			return v
		}
	}
	t.Fatalf("serve printed no STS endpoint:\n%s", e.stdout)
	return ""
}

// dashboardScenario is a short lab run: a profile key, Java models and the
// thief's copies, with a rotation, a credential outage and a revocation
// (which fails the stolen role credential's checks).
const dashboardScenario = `name: dashboard-demo
description: a short run for the dashboard test
duration: 24s
interval: 2s
static_key: true
steps:
  - at: 6s
    rotate: true
    note: rotate now
  - at: 10s
    fault: {action: status, status: 500, path: /latest/meta-data/iam/, for: 6s}
    note: credential path answers 500 for 6 s
  - at: 14s
    revoke: true
    note: revoke the role's sessions
`

// TestDashboard loads /ui/ in Debian's chromium, makes the server change
// (a rotation, a fault, a scenario, a lab run published with --endpoint)
// and checks that the page draws the generations, markers and lanes; then
// uses the page's controls with the admin token and checks the server
// changed; then drops the event stream and checks the page catches up.
// DASHBOARD_SCREENSHOT=path.png saves a screenshot of the page.
func TestDashboard(t *testing.T) {
	chromium := chromiumPath(t)
	e := startEmulator(t, "--rotation-interval", "40s", "--session-duration", "90s")
	token := adminToken(t, e.dataDir)

	// Read-only views need no token from loopback; changes do.
	resp, err := http.Get(e.admin + "/ui/api/state")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ui/api/state from loopback without a token = %d, want 200", resp.StatusCode)
	}
	resp, err = http.Post(e.admin+"/v1/lab", "application/json", strings.NewReader(`{"items":[{"type":"done"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST /v1/lab without a token = %d, want 401", resp.StatusCode)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true), chromedp.WindowSize(1400, 1000),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelTab()

	// wait polls a JavaScript expression in the page until it is true.
	wait := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
			dump, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("events").innerText + "\n" + document.getElementById("message").innerText`))
			t.Fatalf("dashboard: %s: %v (%s)\npage events:\n%s", what, err, expr, dump)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(e.admin+"/ui/")); err != nil {
		t.Fatalf("load %s/ui/: %v", e.admin, err)
	}
	wait("stream live", `window.imdsemuDashboard && window.imdsemuDashboard.connected`)
	wait("first generation drawn", `document.querySelectorAll('#timeline rect[data-status]').length >= 1`)

	// The server changes; the page follows.
	adminCall(t, e, http.MethodPost, "/v1/profiles/imdsemu-demo/rotate?wait=true", "", nil)
	fetchCredentials(t, e)
	adminCall(t, e, http.MethodPost, "/v1/faults", `{"action":"status","status":503,"path":"/latest/meta-data/iam/","times":1,"name":"e2e-503"}`, nil)
	fetchCredentials(t, e)
	adminCall(t, e, http.MethodPut, "/v1/scenarios/e2e-blip", `{"steps":[{"at":"0s","fault":{"action":"latency","delay":"100ms","for":"5s","name":"blip"}}]}`, nil)
	adminCall(t, e, http.MethodPost, "/v1/scenarios/e2e-blip/start", "", nil)
	wait("two generations", `document.querySelectorAll('#timeline [data-gen]').length >= 2`)
	wait("superseded bar", `document.querySelector('#timeline rect[data-status="superseded"]') !== null`)
	wait("served dots", `document.querySelectorAll('#timeline circle.served').length >= 1`)
	wait("fault marker", `document.querySelector('#timeline line[data-marker="fault"]') !== null`)
	wait("scenario marker", `document.querySelector('#timeline line[data-marker="scenario"]') !== null`)
	wait("fault in the log", `[...document.querySelectorAll('#events li')].some(li => li.textContent.includes('e2e-503'))`)

	// A lab run pointed at this server shows as lanes.
	scFile := filepath.Join(t.TempDir(), "dashboard-demo.yaml")
	if err := os.WriteFile(scFile, []byte(dashboardScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	compare := exec.Command(binary, "compare", "--scenario", scFile, "--lanes", "profile,java-v2-sync,java-v1-sync,stolen", "--json",
		"--endpoint", e.endpoint, "--sts-endpoint", stsEndpoint(t, e), "--admin-endpoint", e.admin, "--data-dir", e.dataDir)
	compare.Env = cleanEnv(t)
	var cout, cerr bytes.Buffer
	compare.Stdout, compare.Stderr = &cout, &cerr
	if err := compare.Start(); err != nil {
		t.Fatal(err)
	}
	compareDone := make(chan error, 1)
	go func() { compareDone <- compare.Wait() }()
	defer func() {
		select {
		case <-compareDone:
		default:
			_ = compare.Process.Kill()
			<-compareDone
		}
	}()
	wait("lab lanes", `document.querySelectorAll('#lanes tbody tr').length >= 4`)
	wait("lab calls", `[...document.querySelectorAll('#lanes tbody tr')].every(tr => Number(tr.children[1].textContent) >= 2)`)
	wait("lab step marker", `document.querySelector('#timeline line[data-marker="lab"]') !== null`)

	// The controls change the server, with the token.
	before := maxSeq(t, e)
	if err := chromedp.Do(ctx, chromedp.SendKeys("#token", token), chromedp.Click("#token-save"), chromedp.Click("#rotate")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for maxSeq(t, e) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("the Rotate button made no new generation (still %d)", before)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := chromedp.Do(ctx, chromedp.Click("#imdsv2")); err != nil {
		t.Fatal(err)
	}
	for {
		var o struct {
			HTTPTokens string `json:"http-tokens"`
		}
		adminCall(t, e, http.MethodGet, "/v1/options", "", &o)
		if o.HTTPTokens == "required" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the IMDSv2 button did not make tokens required (http-tokens %q)", o.HTTPTokens)
		}
		time.Sleep(200 * time.Millisecond)
	}
	wait("IMDSv2 shown on", `document.getElementById('imdsv2').getAttribute('aria-pressed') === 'true'`)
	// Start fault (the first preset: 500 on iam/, named iam-500), then stop
	// all faults, each checked through the API.
	faultNames := func() string {
		var l struct{ Faults []struct{ Name string } }
		adminCall(t, e, http.MethodGet, "/v1/faults", "", &l)
		var names []string
		for _, f := range l.Faults {
			names = append(names, f.Name)
		}
		return strings.Join(names, ",")
	}
	for _, step := range []struct{ button, want string }{{"#fault-add", "iam-500"}, {"#fault-clear", ""}} {
		if err := chromedp.Do(ctx, chromedp.Click(step.button)); err != nil {
			t.Fatal(err)
		}
		for got := faultNames(); !strings.Contains(got, step.want) || (step.want == "" && got != ""); got = faultNames() {
			if time.Now().After(deadline) {
				t.Fatalf("after %s the faults are %q, want %q", step.button, got, step.want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	select {
	case err := <-compareDone:
		compareDone <- err
		if err != nil {
			t.Logf("compare: %v\n%s", err, cerr.String()) // expectations are the lab test's business
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("compare did not finish\nstderr:\n%s", cerr.String())
	}
	if strings.Contains(cerr.String(), "not shown on the dashboard") {
		t.Errorf("compare could not publish every item: %s", cerr.String())
	}
	wait("lab run done", `window.imdsemuDashboard.lab.done`)
	wait("failed checks in red", `document.querySelector('#lanes td.failed') !== null && document.querySelector('#timeline rect.call-failed') !== null`)

	// Revoke sessions: the server marks the generations revoked, and so
	// does the page.
	if err := chromedp.Do(ctx, chromedp.Click("#revoke")); err != nil {
		t.Fatal(err)
	}
	newest := maxSeq(t, e)
	for revoked := false; !revoked; {
		for _, g := range e.generations(t) {
			revoked = revoked || (g.Seq == newest && g.Status == "revoked")
		}
		if !revoked && time.Now().After(deadline.Add(2*time.Minute)) {
			t.Fatalf("the Revoke button did not revoke generation %d: %+v", newest, e.generations(t))
		}
		time.Sleep(200 * time.Millisecond)
	}
	wait("revoked bar of the newest generation", fmt.Sprintf(`window.imdsemuDashboard.gens.get(document.getElementById('profile').value + '|%d').revoked > 0`, newest))

	// A narrated demo step ("imdsemu demo" posts them) shows as a banner.
	demoStep := `{"demo":"roles-vs-keys","step":{"n":1,"title":"both apps work","text":"the profile key and the instance role both pass GetCallerIdentity","outcomes":[{"actor":"key app","want":"ok","got":"ok"},{"actor":"role app","want":"ok","got":"ok"}],"passed":true}}`
	if code, body := e.api(t, http.MethodPost, "/v1/demo", demoStep); code == http.StatusNotFound {
		t.Logf("no POST /v1/demo on this server yet: %s", body)
	} else {
		if code != http.StatusAccepted {
			t.Fatalf("POST /v1/demo = %d: %s", code, body)
		}
		wait("demo banner", `!document.getElementById('narration').hidden && document.getElementById('narration-title').textContent.includes('both apps work') && document.querySelectorAll('#narration-outcomes li').length === 2`)
		wait("demo marker", `document.querySelector('#timeline line[data-marker="demo"]') !== null`)
	}

	// Drop the stream; a rotation while it is down shows after the reconnect.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.imdsemuDashboard.es.close(); window.imdsemuDashboard.connected = false`)); err != nil {
		t.Fatal(err)
	}
	var rotated struct{ Seq uint64 }
	adminCall(t, e, http.MethodPost, "/v1/profiles/imdsemu-demo/rotate?wait=true", "", &rotated)
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.imdsemuDashboard.reconnect()`)); err != nil {
		t.Fatal(err)
	}
	wait("caught up after reconnect", fmt.Sprintf(`document.querySelector('#timeline [data-gen="%d"]') !== null`, rotated.Seq))

	if path := os.Getenv("DASHBOARD_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot in %s", path)
	}
}

// fetchCredentials reads the instance's credentials with IMDSv1 (the
// served events the dashboard draws); a fault's error answer is fine.
func fetchCredentials(t *testing.T, e *emulator) {
	t.Helper()
	code, _, role := e.do(t, http.MethodGet, "/latest/meta-data/iam/security-credentials/", nil)
	if code != http.StatusOK {
		return
	}
	e.do(t, http.MethodGet, "/latest/meta-data/iam/security-credentials/"+strings.TrimSpace(role), nil)
}
