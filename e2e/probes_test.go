package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/lab/probes"
)

// The provider lab's real-SDK probes (lab/probes), each an unmodified AWS SDK
// in a long-lived process, against one emulator whose credentials live 25 s.
// Every probe fetches a fresh generation; after a second rotation each SDK's
// own cache decides when it moves on, and the test holds each to the rule of
// its release.

// probeLifetime is the emulator's credential lifetime in TestProbes: short
// enough to watch every cache expire, long enough that JavaScript v2's
// 15-second expiry window never meets a document already inside it.
const probeLifetime = 25 * time.Second

// probeRefresh is when an SDK moves off a generation that expires at exp,
// as its source says. botocore is not here: it extends short-lived
// credentials (below).
var probeRefresh = map[string]func(exp time.Time) time.Time{
	// aws.CredentialsCache with ec2rolecreds: no expiry window.
	"go-v2": func(exp time.Time) time.Time { return exp },
	// credentials.Credentials with EC2RoleProvider: ExpiryWindow 0.
	"go-v1": func(exp time.Time) time.Time { return exp },
	// AWS.Credentials expiryWindow: 15 s.
	"js-v2": func(exp time.Time) time.Time { return exp.Add(-15 * time.Second) },
	// The client's memoized identity provider refreshes 5 minutes early.
	"js-v3": func(exp time.Time) time.Time { return exp.Add(-5 * time.Minute) },
	// RefreshingCredentials SYNC_EXPIRATION_LENGTH: 300 s.
	"ruby": func(exp time.Time) time.Time { return exp.Add(-5 * time.Minute) },
}

func TestProbes(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	e := startEmulator(t, "--session-duration", probeLifetime.String(), "--rotation-interval", (probeLifetime - time.Second).String())
	env, err := probes.Env(t.TempDir(), e.endpoint, e.stsURL(t), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	lanes := startProbes(t, root, env, nil)
	var wg sync.WaitGroup

	// A fresh generation, then every probe's first retrieve: all fetch it.
	genA := rotateTo(t, e)
	mintedA := time.Now() // no earlier than genA was minted
	t.Logf("generation %d (%s) expires %s", genA.Seq, genA.AccessKeyID, genA.Expires.Format(time.StampMilli))
	secret := servedSecrets(t, e)
	// Three requests at once to each: answers are matched by id, and at
	// least one of them waited on the fetch.
	const inFlight = 3
	first := make([][inFlight]probes.Result, len(lanes))
	for i, pp := range lanes {
		for j := range inFlight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var sent time.Time
				first[i][j], sent = pp.retrieve(true)
				t.Logf("%s: first retrieve answered in %v (SDK latency %.1f ms)", pp.name, time.Since(sent).Round(time.Millisecond), first[i][j].LatencyMS)
			}()
		}
	}
	wg.Wait()
	for i, pp := range lanes {
		if pp.ready.Version == "" {
			t.Errorf("%s: ready line without a version: %+v", pp.name, pp.ready)
		}
		fetched := false
		for _, r := range first[i] {
			if r.Error != "" || r.AccessKeyID != genA.AccessKeyID || r.Check != "ok" {
				t.Errorf("%s: first retrieve = %+v; want %s, check ok", pp.name, r, genA.AccessKeyID)
			}
			if exp, err := time.Parse(time.RFC3339, r.Expires); err != nil || !exp.After(time.Now()) {
				t.Errorf("%s: first retrieve expires %q, want a future RFC 3339 time", pp.name, r.Expires)
			}
			fetched = fetched || r.Source == probes.SourceFetch
		}
		if !fetched {
			t.Errorf("%s: no first retrieve says it fetched: %+v", pp.name, first[i])
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The next generation, minted at least 5 s after the first; each SDK
	// moves to it when its cache says so. The gap matters to JavaScript v2:
	// it refetches when the first has 15 s left and then finds the second
	// with 15 s plus the gap left; were that inside its 15 s window (the gap
	// smaller than the poll's lag), its expiry extension would hang the
	// call (see lab/probes/README.md).
	time.Sleep(time.Until(mintedA.Add(5 * time.Second)))
	rotateTo(t, e)
	// The lanes poll at once (subtests would run two at a time on two
	// cores); the rules are checked on what they saw.
	seen := make([][]observation, len(lanes))
	for i, pp := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if pp.name == "botocore" {
				seen[i] = pp.poll(time.Second, genA.Expires.Add(20*time.Second), func(o observation) bool {
					return o.sent.After(genA.Expires.Add(time.Second))
				})
				return
			}
			seen[i] = pp.poll(500*time.Millisecond, later(time.Now(), probeRefresh[pp.name](genA.Expires)).Add(20*time.Second), func(o observation) bool {
				return o.r.AccessKeyID != genA.AccessKeyID
			})
		}()
	}
	wg.Wait()
	for i, pp := range lanes {
		t.Run(pp.name, func(t *testing.T) {
			for _, o := range seen[i] {
				t.Logf("%s %+v", o.sent.Format(time.StampMilli), o.r)
			}
			if pp.name == "botocore" {
				botocoreKeepsExtended(t, seen[i], genA)
				return
			}
			movesOn(t, seen[i], genA, probeRefresh[pp.name](genA.Expires))
		})
	}

	for _, pp := range lanes {
		if out := pp.output(); strings.Contains(out, secret.key) || strings.Contains(out, secret.token) {
			t.Errorf("%s wrote a secret key or session token", pp.name)
		}
	}
}

// observation is one answer of a probe and when its request was sent.
type observation struct {
	sent time.Time
	r    probes.Result
}

// poll retrieves (with a check) every interval until done says so, a
// retrieval fails, or deadline passes.
func (pp *probeProc) poll(interval time.Duration, deadline time.Time, done func(observation) bool) []observation {
	var seen []observation
	for time.Now().Before(deadline) {
		r, sent := pp.retrieve(true)
		o := observation{sent, r}
		seen = append(seen, o)
		if r.Error != "" || done(o) {
			break
		}
		time.Sleep(interval)
	}
	return seen
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// startProbes starts every probe whose runtime is here (in CI every one
// must be) with the arguments args gives it, all at once, and waits for
// their ready lines. A probe args leaves out (ok false) is not started.
func startProbes(t *testing.T, root string, env []string, args func(probes.Probe) ([]string, bool)) []*probeProc {
	t.Helper()
	ctx := context.Background()
	binDir := t.TempDir()
	var (
		mu    sync.Mutex
		lanes []*probeProc
		wg    sync.WaitGroup
	)
	for _, p := range probes.All() {
		var extra []string
		if args != nil {
			var ok bool
			if extra, ok = args(p); !ok {
				continue
			}
		}
		if err := p.Available(ctx, root); err != nil {
			if !errors.Is(err, probes.ErrMissing) || os.Getenv("CI") != "" {
				t.Errorf("%v; .ci/run should have installed it", err)
			} else {
				t.Logf("skipping lane: %v", err)
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pp, err := startProbe(ctx, p, root, binDir, env, extra...)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("%s: %v", p.Name, err)
				return
			}
			t.Cleanup(func() { pp.quit(t) })
			lanes = append(lanes, pp)
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if len(lanes) == 0 {
		t.Skip("no probe runtime is installed (see lab/probes/README.md)")
	}
	return lanes
}

// TestProbes_DefaultChains runs each probe that offers it with its SDK's
// default credential chain under the lab's safety environment: the chain
// finds nothing before IMDS and gets the instance's credentials there, and
// keeps them after the role's sessions are revoked. (The Ruby SDK's chain
// cannot reach a metadata endpoint off port 80.)
func TestProbes_DefaultChains(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	e := startEmulator(t)
	env, err := probes.Env(t.TempDir(), e.endpoint, e.stsURL(t), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	lanes := startProbes(t, root, env, func(p probes.Probe) ([]string, bool) {
		if p.GoPackage != "" {
			return []string{"-provider", "default"}, true
		}
		return []string{"default"}, p.Name != "ruby"
	})
	retrieveAll := func() []probes.Result {
		results := make([]probes.Result, len(lanes))
		var wg sync.WaitGroup
		for i, pp := range lanes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], _ = pp.retrieve(true)
			}()
		}
		wg.Wait()
		return results
	}
	current := e.generations(t)[0]
	for i, r := range retrieveAll() {
		pp := lanes[i]
		if r.Error != "" || r.AccessKeyID != current.AccessKeyID || r.Check != "ok" || r.Source != probes.SourceFetch {
			t.Errorf("%s (%s): %+v; want %s, fetched, check ok", pp.name, pp.ready.Provider, r, current.AccessKeyID)
		}
		if pp.ready.Provider == "" || strings.Contains(pp.ready.Provider, "InstanceMetadata") || pp.ready.Provider == "ec2rolecreds" {
			t.Errorf("%s: ready names provider %q, want the default chain", pp.name, pp.ready.Provider)
		}
	}

	// Revoke the role's sessions: the six-hour credentials stay in every
	// cache, and each SDK's STS client reports STS's AccessDenied.
	imdsemu(t, "revoke", "imdsemu-demo", "--data-dir", e.dataDir)
	for i, r := range retrieveAll() {
		if r.Error != "" || r.AccessKeyID != current.AccessKeyID || r.Source != probes.SourceCache || r.Check != "AccessDenied" {
			t.Errorf("%s after revocation: %+v; want %s from the cache, check AccessDenied", lanes[i].name, r, current.AccessKeyID)
		}
	}
}

// movesOn checks that a lane served genA from its cache for every call made
// before refreshAt (less some slack), and a newer generation,
// fetched and accepted by STS, from refreshAt (plus a second) on.
func movesOn(t *testing.T, seen []observation, genA generation, refreshAt time.Time) {
	for _, o := range seen {
		r, at := o.r, o.sent.Format(time.StampMilli)
		if r.Error != "" {
			t.Fatalf("retrieve at %s: %s", at, r.Error)
		}
		if r.AccessKeyID == genA.AccessKeyID {
			if o.sent.After(refreshAt.Add(time.Second)) {
				t.Fatalf("still %s at %s, after the SDK's refresh time %s", r.AccessKeyID, at, refreshAt.Format(time.StampMilli))
			}
			if r.Source != probes.SourceCache || r.Check != "ok" {
				t.Errorf("at %s, before the refresh time: %+v; want from the cache, check ok", at, r)
			}
			continue
		}
		// (Three seconds: a request can wait that long in a loaded probe
		// before the SDK reads its clock.)
		if o.sent.Before(refreshAt.Add(-3 * time.Second)) {
			t.Errorf("moved to %s at %s, before the SDK's refresh time %s", r.AccessKeyID, at, refreshAt.Format(time.StampMilli))
		}
		if r.Source != probes.SourceFetch || r.Check != "ok" {
			t.Errorf("new generation: %+v; want fetched, check ok", r)
		}
		if exp, err := time.Parse(time.RFC3339, r.Expires); err != nil || !exp.After(genA.Expires) {
			t.Errorf("new generation expires %q, want after %s", r.Expires, genA.Expires)
		}
		return
	}
	t.Fatalf("never moved off %s", genA.AccessKeyID)
}

// botocoreKeepsExtended checks botocore's answer to credentials that live
// less than its 15-minute refresh window: InstanceMetadataFetcher extends
// their expiry to 17-25 minutes from the fetch (ec2_credential_refresh_window
// plus 2-10 minutes' jitter), so it keeps serving the first generation from
// its cache past the real expiry, and STS says ExpiredToken.
func botocoreKeepsExtended(t *testing.T, seen []observation, genA generation) {
	for _, o := range seen {
		r, at := o.r, o.sent.Format(time.StampMilli)
		if r.Error != "" || r.AccessKeyID != genA.AccessKeyID || r.Source != probes.SourceCache {
			t.Fatalf("at %s: %+v; want %s from the cache", at, r, genA.AccessKeyID)
		}
		if exp, err := time.Parse(time.RFC3339, r.Expires); err != nil || exp.Before(genA.Expires.Add(10*time.Minute)) {
			t.Errorf("at %s: believed expiry %q, want extended beyond %s by over 10 minutes", at, r.Expires, genA.Expires)
		}
		if o.sent.After(genA.Expires.Add(time.Second)) {
			if r.Check != "ExpiredToken" {
				t.Errorf("at %s, after the real expiry: check %q, want ExpiredToken", at, r.Check)
			}
			return
		}
	}
	t.Fatalf("never polled after the real expiry %s", genA.Expires.Format(time.StampMilli))
}

// rotateTo asks for a new generation and returns it once it is current.
// generation is what the probes test reads of a credential generation.
type generation struct {
	Seq         uint64
	AccessKeyID string
	Expires     time.Time
}

func rotateTo(t *testing.T, e *emulator) generation {
	t.Helper()
	before := e.generations(t)[0].Seq
	if out, err := e.cli(t, "rotate"); err != nil {
		t.Fatalf("imdsemu rotate: %v %s", err, out)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if g := e.generations(t)[0]; g.Seq > before && g.Status == "current" && g.Expires != nil {
			return generation{Seq: g.Seq, AccessKeyID: g.AccessKeyID, Expires: *g.Expires}
		}
	}
	t.Fatal("no new generation 30s after imdsemu rotate")
	return generation{}
}

// servedSecrets are the secret key and session token IMDS serves now.
type secrets struct{ key, token string }

func servedSecrets(t *testing.T, e *emulator) secrets {
	t.Helper()
	_, _, body := e.do(t, "GET", "/latest/meta-data/iam/security-credentials/imdsemu-demo", map[string]string{"X-aws-ec2-metadata-token": e.token(t)})
	var doc struct{ SecretAccessKey, Token string }
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.SecretAccessKey == "" || doc.Token == "" {
		t.Fatalf("credential document: %v", err)
	}
	return secrets{doc.SecretAccessKey, doc.Token}
}

// probeProc is a running probe: requests go in on stdin, results are matched
// to them by id.
type probeProc struct {
	name   string
	ready  probes.Ready
	cmd    *exec.Cmd
	in     io.WriteCloser
	stdout *lineLog
	stderr *lineLog
	done   chan error

	mu      sync.Mutex
	nextID  int64
	waiting map[int64]chan probes.Result
}

// startProbe builds p if it is a Go probe, starts it and waits for its ready
// line.
func startProbe(ctx context.Context, p probes.Probe, root, binDir string, env []string, args ...string) (*probeProc, error) {
	bin, err := p.Build(ctx, root, binDir)
	if err != nil {
		return nil, err
	}
	cmd := p.Command(ctx, root, bin, env, args...)
	pp := &probeProc{name: p.Name, cmd: cmd, stdout: &lineLog{}, stderr: &lineLog{}, done: make(chan error, 1), waiting: map[int64]chan probes.Result{}}
	if pp.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan probes.Ready, 1)
	go func() {
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			pp.stderr.add(sc.Text())
		}
	}()
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			pp.stdout.add(sc.Text())
			var line struct {
				probes.Result
				SDK      string
				Version  string
				Provider string
			}
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				continue
			}
			switch line.Type {
			case "ready":
				ready <- probes.Ready{Type: line.Type, SDK: line.SDK, Version: line.Version, Provider: line.Provider}
			case "result":
				pp.mu.Lock()
				ch := pp.waiting[line.ID]
				delete(pp.waiting, line.ID)
				pp.mu.Unlock()
				if ch != nil {
					ch <- line.Result
				}
			}
		}
		pp.done <- cmd.Wait()
	}()
	select {
	case pp.ready = <-ready:
		if pp.ready.SDK == p.Name {
			return pp, nil
		}
		err = fmt.Errorf("ready line names sdk %q", pp.ready.SDK)
	case err := <-pp.done:
		return nil, fmt.Errorf("exited before ready: %v\nstderr:\n%s", err, pp.stderr)
	case <-time.After(60 * time.Second):
		err = fmt.Errorf("no ready line after 60s\nstderr:\n%s", pp.stderr)
	}
	_ = cmd.Process.Kill()
	<-pp.done
	return nil, err
}

// retrieve sends one request and waits for its answer. A probe that does
// not answer in a minute is hung: the test fails with what it wrote.
func (pp *probeProc) retrieve(check bool) (probes.Result, time.Time) {
	ch := make(chan probes.Result, 1)
	pp.mu.Lock()
	pp.nextID++
	id := pp.nextID
	pp.waiting[id] = ch
	pp.mu.Unlock()
	req, _ := json.Marshal(probes.Request{Op: "retrieve", ID: id, Check: check})
	sent := time.Now()
	if _, err := pp.in.Write(append(req, '\n')); err != nil {
		return probes.Result{Error: fmt.Sprintf("test: writing to the probe: %v", err)}, sent
	}
	select {
	case r := <-ch:
		return r, sent
	case <-time.After(time.Minute):
		return probes.Result{Error: fmt.Sprintf("test: no answer to request %d in a minute\nstderr:\n%s", id, pp.stderr)}, sent
	}
}

// quit asks the probe to exit and expects status 0.
func (pp *probeProc) quit(t *testing.T) {
	_, _ = io.WriteString(pp.in, `{"op":"quit"}`+"\n")
	select {
	case err := <-pp.done:
		if err != nil {
			t.Errorf("%s: exit after quit: %v\nstderr:\n%s", pp.name, err, pp.stderr)
		}
	case <-time.After(30 * time.Second):
		_ = pp.cmd.Process.Kill()
		t.Errorf("%s: still running 30s after quit", pp.name)
	}
}

// output is everything the probe wrote.
func (pp *probeProc) output() string {
	return pp.stdout.String() + "\n" + pp.stderr.String()
}
