package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/fault"
	"github.com/imdsemu/imdsemu/rolestore"
)

// adminToken reads the control API token from a data directory. Tests never
// print it.
func adminToken(t *testing.T, dataDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// client returns a typed control API client for the emulator, as the CLI
// and any Go program would use it.
func (e *emulator) client(t *testing.T) *admin.Client {
	t.Helper()
	c, err := admin.NewClient(e.admin, adminToken(t, e.dataDir), admin.ClientOptions{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// api sends one raw control request to the admin listener with the token and
// returns the status and body.
func (e *emulator) api(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	return e.apiAt(t, e.admin, method, path, body, adminToken(t, e.dataDir))
}

func (e *emulator) apiAt(t *testing.T, base, method, path, body, token string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, strings.TrimSuffix(base, "/")+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// addFault adds a rule, written as the JSON of docs/faults.md, through the
// client and returns its id.
func (e *emulator) addFault(t *testing.T, rule string) string {
	t.Helper()
	var r fault.Rule
	if err := json.Unmarshal([]byte(rule), &r); err != nil {
		t.Fatalf("rule %s: %v", rule, err)
	}
	st, err := e.client(t).AddFault(context.Background(), r)
	if err != nil {
		t.Fatalf("add fault %s: %v", rule, err)
	}
	return st.ID
}

// removeFault removes a rule through the client.
func (e *emulator) removeFault(t *testing.T, id string) {
	t.Helper()
	if err := e.client(t).RemoveFault(context.Background(), id); err != nil {
		t.Errorf("remove fault %s: %v", id, err)
	}
}

// cli runs `imdsemu ARGS...` against the emulator, finding it through the
// environment as a user would.
func (e *emulator) cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = cleanEnv(t, "IMDSEMU_ADMIN_ADDR="+strings.TrimPrefix(e.admin, "http://"), "IMDSEMU_DATA_DIR="+e.dataDir)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		err = fmt.Errorf("%v: %s", err, ee.Stderr)
	}
	return string(out), err
}

// metric returns the value of one series on /metrics. series is written as
// Prometheus prints it: name{label="value",...}. A labelled series appears
// only once counted, so an absent one reads 0, but only when the metric's
// name is one imdsemu defines: a renamed metric fails the test instead of
// reading 0 for ever.
func (e *emulator) metric(t *testing.T, series string) float64 {
	t.Helper()
	code, body := e.apiAt(t, e.admin, http.MethodGet, "/metrics", "", "")
	if code != 200 {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", line, err)
			}
			return f
		}
	}
	name, _, labelled := strings.Cut(series, "{")
	if !labelled || !definedMetric(t, name) {
		t.Fatalf("metric %s is not on /metrics, and imdsemu defines no labelled metric %s (renamed?)", series, name)
	}
	return 0
}

// generations lists the demo profile's generations, newest first.
func (e *emulator) generations(t *testing.T) []admin.GenerationInfo {
	t.Helper()
	gens, err := e.client(t).Generations(context.Background(), "imdsemu-demo")
	if err != nil {
		t.Fatalf("generations: %v", err)
	}
	return gens
}

func TestAdmin_TokenFileAndFirstStart(t *testing.T) {
	dir := t.TempDir()
	e := startEmulator(t, "--data-dir", dir)
	re := regexp.MustCompile(`^admin token: (\S+)  \(saved in (.+)\)$`)
	var printed, savedIn string
	for _, line := range strings.Split(e.stdout.String(), "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			printed, savedIn = m[1], m[2]
		}
	}
	if printed == "" {
		t.Fatalf("no admin token line on the first start")
	}
	path := filepath.Join(dir, "admin.token")
	if savedIn != path {
		t.Errorf("saved in %q, want %q", savedIn, path)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	if printed != adminToken(t, dir) {
		t.Errorf("the printed token is not the saved one")
	}
	e.stop(t)
	e2 := startEmulator(t, "--data-dir", dir)
	if strings.Contains(e2.stdout.String(), "admin token:") {
		t.Errorf("the token was printed again on the second start")
	}
	c, err := admin.NewClient(e2.admin, adminToken(t, dir), admin.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Options(context.Background()); err != nil {
		t.Errorf("the saved token after a restart: %v", err)
	}
	if strings.Contains(e2.stderr.String(), printed) || strings.Contains(e.stderr.String(), printed) {
		t.Errorf("the admin token appears in the logs")
	}
}

func TestAdmin_Authentication(t *testing.T) {
	e := startEmulator(t)
	for _, tok := range []string{"", "wrong-token-wrong-token-wrong-token"} {
		code, body := e.apiAt(t, e.admin, "GET", "/v1/options", "", tok)
		if code != http.StatusUnauthorized || !strings.Contains(string(body), `"error"`) {
			t.Errorf("token %q: %d %s, want 401 with an error", tok, code, body)
		}
	}
	for _, p := range []string{"/metrics", "/healthz"} {
		if code, _ := e.apiAt(t, e.admin, "GET", p, "", ""); code != 200 {
			t.Errorf("GET %s without a token = %d, want 200", p, code)
		}
	}
}

// TestAdmin_MetadataListenerCannotReachAPI sends every control request,
// token and all, to the metadata listener: none is served, nothing changes.
func TestAdmin_MetadataListenerCannotReachAPI(t *testing.T) {
	e := startEmulator(t)
	tok := adminToken(t, e.dataDir)
	state := func() string {
		var b strings.Builder
		for _, p := range []string{"/v1/options", "/v1/faults", "/v1/attachment", "/v1/profiles"} {
			_, body := e.api(t, "GET", p, "")
			b.Write(body)
		}
		return b.String()
	}
	before := state()
	for _, rq := range []struct{ method, path, body string }{
		{"GET", "/v1/options", ""},
		{"PATCH", "/v1/options", `{"http-tokens":"required"}`},
		{"POST", "/v1/faults", `{"action":"refuse"}`},
		{"DELETE", "/v1/attachment", ""},
		{"PUT", "/v1/profiles/imdsemu-demo/freeze", ""},
		{"POST", "/v1/profiles/imdsemu-demo/rotate", ""},
		{"GET", "/v1/events", ""},
		{"GET", "/metrics", ""},
	} {
		code, body := e.apiAt(t, e.endpoint, rq.method, rq.path, rq.body, tok)
		if code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s on the metadata listener = %d %s, want 404 or 405", rq.method, rq.path, code, body)
		}
	}
	if after := state(); after != before {
		t.Errorf("control requests to the metadata listener changed state:\nbefore %s\nafter  %s", before, after)
	}
}

func TestAdmin_OptionsSwitchLive(t *testing.T) {
	e := startEmulator(t)
	c := e.client(t)
	required, two := "required", 2
	o, err := c.PatchOptions(context.Background(), admin.MetadataPatch{HTTPTokens: &required, HopLimit: &two})
	if err != nil || o.HTTPTokens != "required" || o.HopLimit != 2 {
		t.Fatalf("PatchOptions = %+v, %v", o, err)
	}
	if c, _, _ := e.do(t, "GET", "/latest/meta-data/instance-id", nil); c != http.StatusUnauthorized {
		t.Errorf("token-less GET after http-tokens required = %d, want 401", c)
	}
	cfg := sdkConfig(t, e.endpoint)
	if _, err := cfg.Credentials.Retrieve(context.Background()); err != nil {
		t.Errorf("Go SDK with http-tokens required: %v", err)
	}
	out, err := e.cli(t, "options", "set", "http-endpoint", "disabled")
	if err != nil || !strings.Contains(out, "http-endpoint:          disabled") {
		t.Fatalf("options set: %v\n%s", err, out)
	}
	if c, _, _ := e.do(t, "GET", "/latest/meta-data/instance-id", nil); c != http.StatusForbidden {
		t.Errorf("GET with the endpoint disabled = %d, want 403", c)
	}
	// Bad input changes nothing.
	enabled, zero := "enabled", 0
	_, err = c.PatchOptions(context.Background(), admin.MetadataPatch{HTTPEndpoint: &enabled, HopLimit: &zero})
	var ae *admin.Error
	if !errors.As(err, &ae) || ae.Status != 400 || len(ae.Fields) != 1 || ae.Fields[0].Field != "hop-limit" {
		t.Errorf("bad PatchOptions = %v, want 400 naming hop-limit", err)
	}
	code, body := e.api(t, "PATCH", "/v1/options", `{"http-endpoint":"enabled","hop-limit":0}`)
	if code != 400 || !strings.Contains(string(body), "hop-limit") {
		t.Errorf("bad PATCH = %d %s", code, body)
	}
	if c, _, _ := e.do(t, "GET", "/latest/meta-data/instance-id", nil); c != http.StatusForbidden {
		t.Errorf("a rejected PATCH re-enabled the endpoint: %d", c)
	}
}

// TestAdmin_AttachDetach swaps the instance's role at run time and shows
// the SDK getting the new role's session, or no credentials at all.
func TestAdmin_AttachDetach(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "imdsemu.yaml")
	if err := os.WriteFile(conf, []byte(`
roles:
  - name: web
  - name: batch
instance-profiles:
  - name: app
    role: web
`), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEmulator(t, "--config", conf)
	ctx := context.Background()
	out, err := e.cli(t, "detach")
	if err != nil || !strings.Contains(out, "no role") {
		t.Fatalf("detach: %v %s", err, out)
	}
	if _, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(ctx); err == nil {
		t.Errorf("Go SDK got credentials with no role attached")
	}
	if out, err := e.cli(t, "attach", "nope"); err == nil || !strings.Contains(err.Error(), `no role \"nope\"`) && !strings.Contains(err.Error(), `no role "nope"`) {
		t.Errorf("attach nope: %v %s", err, out)
	}
	if out, err := e.cli(t, "attach", "batch"); err != nil || !strings.Contains(out, "role batch") {
		t.Fatalf("attach batch: %v %s", err, out)
	}
	iss := openIssuer(t, e.dataDir)
	var principal string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		creds, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(ctx)
		if err != nil {
			continue // the new role's first generation is being minted
		}
		s, err := iss.Open(creds.SessionToken)
		if err != nil {
			t.Fatal(err)
		}
		principal = s.PrincipalARN
		break
	}
	if want := "arn:aws:sts::123456789012:assumed-role/batch/i-0123456789abcdef0"; principal != want {
		t.Errorf("after attach batch: principal %q, want %q", principal, want)
	}
	// The store has it too: a restart keeps the new role.
	st, err := rolestore.OpenSQLite(t.Context(), filepath.Join(e.dataDir, "imdsemu.db"), rolestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.InstanceProfile(ctx, "123456789012", "app")
	if err != nil || len(p.Roles) != 1 || p.Roles[0] != "batch" {
		t.Errorf("stored profile = %+v, %v; want role batch", p, err)
	}
}

// TestAdmin_RotateFreezeGenerations drives rotation from the CLI and reads
// the generation history, with the clients that fetched each one and a
// revocation recorded in the store.
func TestAdmin_RotateFreezeGenerations(t *testing.T) {
	e := startEmulator(t)
	ctx := context.Background()
	first, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.cli(t, "rotate")
	if err != nil || !strings.Contains(out, "generation 2") {
		t.Fatalf("rotate: %v %s", err, out)
	}
	if _, err := e.cli(t, "freeze"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cli(t, "rotate"); err == nil || !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), "unfreeze it first") {
		t.Errorf("rotate while frozen: %v", err)
	}
	second, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gens := e.generations(t)
	if len(gens) != 2 || gens[0].Seq != 2 || gens[0].AccessKeyID != second.AccessKeyID || gens[1].AccessKeyID != first.AccessKeyID {
		t.Fatalf("generations = %+v", gens)
	}
	if gens[0].Status != "current" || gens[1].Status != "superseded" {
		t.Errorf("statuses = %s, %s; want current, superseded", gens[0].Status, gens[1].Status)
	}
	for _, g := range gens {
		if g.Served < 1 || len(g.Clients) != 1 || g.Clients[0].Address != "127.0.0.1" || g.Clients[0].Versions["v2"] < 1 {
			t.Errorf("generation %d: served %d, clients %+v; want fetched by 127.0.0.1 over v2", g.Seq, g.Served, g.Clients)
		}
	}
	if _, err := e.cli(t, "unfreeze", "imdsemu-demo"); err != nil {
		t.Fatal(err)
	}
	// Revoke the role's sessions in the store (what `imdsemu revoke` does).
	st, err := rolestore.OpenSQLite(t.Context(), filepath.Join(e.dataDir, "imdsemu.db"), rolestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Revoke(ctx, "arn:aws:iam::123456789012:role/imdsemu-demo", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, g := range e.generations(t) {
		if g.Status != "revoked" {
			t.Errorf("generation %d after revocation: %s, want revoked", g.Seq, g.Status)
		}
	}
	out, err = e.cli(t, "generations")
	if err != nil || !strings.Contains(out, "revoked") || !strings.Contains(out, "127.0.0.1 (v2") {
		t.Errorf("imdsemu generations: %v\n%s", err, out)
	}
}

// TestAdmin_EventStream watches the SSE stream while a client fetches
// credentials, a fault fires and an option changes; then the server stops
// with the stream open and ends it.
func TestAdmin_EventStream(t *testing.T) {
	e := startEmulator(t)
	stream, err := e.client(t).Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	events := make(chan string, 100)
	go func() {
		defer close(events)
		for {
			ev, err := stream.Next()
			if err != nil {
				return
			}
			events <- ev.Type
		}
	}()
	e.addFault(t, `{"action":"latency","delay":"10ms","path":"/latest/meta-data/iam/","times":1}`)
	if _, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cli(t, "rotate"); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"options_changed": false, "fault_fired": false, "served": false, "issued": false, "superseded": false}
	missing := func() []string {
		var m []string
		for k, seen := range want {
			if !seen {
				m = append(m, k)
			}
		}
		return m
	}
	timeout := time.After(30 * time.Second)
	for len(missing()) > 0 {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream ended; never saw %v", missing())
			}
			want[ev] = true
		case <-timeout:
			t.Fatalf("never saw %v", missing())
		}
	}
	// The CLI streams too.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "events", "--type", "served")
	cmd.Env = cleanEnv(t, "IMDSEMU_ADMIN_ADDR="+strings.TrimPrefix(e.admin, "http://"), "IMDSEMU_DATA_DIR="+e.dataDir)
	pipe, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(pipe)
	lines.Scan() // ": imdsemu events" once the stream is open
	if _, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	sawServed := false
	for !sawServed && lines.Scan() {
		sawServed = lines.Text() == "event: served"
	}
	cancel()
	cmd.Wait()
	if !sawServed {
		t.Errorf("imdsemu events printed no served event")
	}

	// Stopping the server ends the open stream; stop fails the test if
	// the server does not exit cleanly.
	start := time.Now()
	e.stop(t)
	for range events {
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("shutdown with an open event stream took %v; the stream should end at once, not after the 5s grace", took)
	}
}

// TestAdmin_ScenarioFromConfig starts a scenario from the config file: the
// first three token PUTs fail with 500, so the Go SDK falls back to IMDSv1
// for that request, then the scenario's next step adds latency.
func TestAdmin_ScenarioFromConfig(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "imdsemu.yaml")
	if err := os.WriteFile(conf, []byte(`
scenarios:
  flaky-start:
    - at: 0s
      fault: {action: status, status: 500, path: /latest/api/token, times: 3}
    - at: 1h
      fault: {action: latency, delay: 2s, for: 20s}
start-scenario: flaky-start
`), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEmulator(t, "--config", conf)
	if !strings.Contains(e.stdout.String(), "imdsemu: fault scenario flaky-start started") {
		t.Errorf("stdout does not say the scenario started:\n%s", e.stdout)
	}
	if _, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(context.Background()); err != nil {
		t.Fatalf("Go SDK through flaky-start: %v", err)
	}
	if n := e.metric(t, `imdsemu_faults_fired_total{action="status"}`); n != 3 {
		t.Errorf("status faults fired = %v, want 3 (the SDK's three PUT attempts)", n)
	}
	if n := e.metric(t, `imdsemu_imds_no_token_requests_total{client="127.0.0.1"}`); n < 1 {
		t.Errorf("no token-less request: the SDK did not fall back to IMDSv1")
	}
	out, err := e.cli(t, "scenario", "list")
	if err != nil || !regexp.MustCompile(`flaky-start\s+2\s+true\s+1`).MatchString(out) {
		t.Errorf("scenario list: %v\n%s", err, out)
	}
	if out, err := e.cli(t, "scenario", "stop", "flaky-start"); err != nil || !strings.Contains(out, "stopped") {
		t.Errorf("scenario stop: %v %s", err, out)
	}
	if out, err := e.cli(t, "scenario", "stop", "flaky-start"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("stopping again: %v %s", err, out)
	}
}

// TestAdmin_IdentityCredentialsOnFirstUse: the identity role's credentials
// are minted when first asked for, not at start. Until then the listings
// under identity-credentials/ are served, and the control API shows no
// generation of them; the first GET answers with the generation it mints,
// which the event stream and the generations list then show.
func TestAdmin_IdentityCredentialsOnFirstUse(t *testing.T) {
	e := startEmulator(t)
	const key = "arn:aws:sts::123456789012:assumed-role/aws:ec2-instance/i-0123456789abcdef0"
	c := e.client(t)
	identityGens := func() []admin.GenerationInfo {
		t.Helper()
		all, err := c.Generations(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		var out []admin.GenerationInfo
		for _, g := range all {
			if g.Profile == key {
				out = append(out, g)
			}
		}
		return out
	}
	if g := identityGens(); len(g) != 0 {
		t.Fatalf("identity generations before anything asked: %+v", g)
	}
	v2 := map[string]string{"X-aws-ec2-metadata-token": e.token(t)}
	if code, _, body := e.do(t, "GET", "/latest/meta-data/identity-credentials/ec2/security-credentials/", v2); code != 200 || body != "ec2-instance" {
		t.Fatalf("listing = %d %q, want ec2-instance", code, body)
	}
	if g := identityGens(); len(g) != 0 {
		t.Fatalf("the listing minted: %+v", g)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := c.Events(ctx, "issued")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	code, _, body := e.do(t, "GET", "/latest/meta-data/identity-credentials/ec2/security-credentials/ec2-instance", v2)
	var doc struct{ Code, AccessKeyId string }
	if code != 200 || json.Unmarshal([]byte(body), &doc) != nil || doc.Code != "Success" {
		t.Fatalf("first GET of ec2-instance = %d", code)
	}
	for {
		ev, err := stream.Next()
		if err != nil {
			t.Fatalf("no issued event for the identity role: %v", err)
		}
		if ev.Profile == key {
			if ev.Seq != 1 || ev.AccessKeyID != doc.AccessKeyId {
				t.Errorf("issued event seq %d key %s, want 1 and the served %s", ev.Seq, ev.AccessKeyID, doc.AccessKeyId)
			}
			break
		}
	}
	if g := identityGens(); len(g) != 1 || g[0].AccessKeyID != doc.AccessKeyId || g[0].Status != "current" {
		t.Errorf("identity generations after the first GET = %+v, want the served one, current", g)
	}
	// The next GET serves the same generation.
	if _, _, again := e.do(t, "GET", "/latest/meta-data/identity-credentials/ec2/security-credentials/ec2-instance", v2); !strings.Contains(again, doc.AccessKeyId) {
		t.Error("second GET minted another generation")
	}
}
