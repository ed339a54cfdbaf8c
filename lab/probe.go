package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/imdsemu/imdsemu/lab/probes"
)

// SDKLanes are the real-SDK lanes, each a long-lived probe process
// (lab/probes/README.md) speaking JSON lines.
func SDKLanes() []string {
	var out []string
	for _, p := range probes.All() {
		out = append(out, p.Name)
	}
	return out
}

// ProbeReadyTimeout bounds a probe's start.
const ProbeReadyTimeout = 2 * time.Minute

// probeLane is a real SDK in a probe process.
type probeLane struct {
	name, version string
	cmd           *exec.Cmd
	stdin         io.WriteCloser
	tmp           string

	wmu    sync.Mutex // stdin
	mu     sync.Mutex
	nextID int64
	wait   map[int64]chan probes.Result
	stderr []string // last lines, for errors
	done   chan struct{}
	err    error // why the process ended
}

// startProbe builds (Go) and starts lane's probe from the repository at
// repo, with its IMDS at metadata and the probes' safety environment.
func startProbe(ctx context.Context, lane, repo, metadata, sts, region string) (*probeLane, error) {
	p, ok := probes.Lookup(lane)
	if !ok {
		return nil, fmt.Errorf("lab: no probe %q", lane)
	}
	if err := p.Available(ctx, repo); err != nil {
		return nil, fmt.Errorf("lab: lane %s: %w", lane, err)
	}
	tmp, err := os.MkdirTemp("", "imdsemu-probe-")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*probeLane, error) {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("lab: lane %s: %w", lane, err)
	}
	bin, err := p.Build(ctx, repo, tmp)
	if err != nil {
		return fail(err)
	}
	env, err := probes.Env(tmp, metadata, sts, region)
	if err != nil {
		return fail(err)
	}
	l := &probeLane{name: lane, tmp: tmp, wait: map[int64]chan probes.Result{}, done: make(chan struct{})}
	// Not CommandContext: the probe lives until Close, not until ctx ends.
	l.cmd = p.Command(context.WithoutCancel(ctx), repo, bin, env)
	if l.stdin, err = l.cmd.StdinPipe(); err != nil {
		return fail(err)
	}
	out, err := l.cmd.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	errPipe, err := l.cmd.StderrPipe()
	if err != nil {
		return fail(err)
	}
	if err := l.cmd.Start(); err != nil {
		return fail(fmt.Errorf("start: %w (see lab/probes/README.md)", err))
	}
	go l.readStderr(errPipe)
	ready := make(chan probes.Ready, 1)
	go l.readStdout(out, ready)
	select {
	case r := <-ready:
		l.version = r.Version
		if r.Provider != "" {
			l.version += " " + r.Provider
		}
		return l, nil
	case <-l.done:
		err := fmt.Errorf("lab: lane %s: probe exited before ready: %v\n%s", lane, l.err, l.lastStderr())
		l.Close()
		return nil, err
	case <-time.After(ProbeReadyTimeout):
	case <-ctx.Done():
		l.Close()
		return nil, fmt.Errorf("lab: lane %s: %w", lane, ctx.Err())
	}
	l.Close()
	return nil, fmt.Errorf("lab: lane %s: probe not ready within %v\n%s", lane, ProbeReadyTimeout, l.lastStderr())
}

func (l *probeLane) readStderr(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l.mu.Lock()
		l.stderr = append(l.stderr, sc.Text())
		if len(l.stderr) > 20 {
			l.stderr = l.stderr[1:]
		}
		l.mu.Unlock()
	}
}

func (l *probeLane) lastStderr() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.stderr, "\n")
}

func (l *probeLane) readStdout(r io.Reader, ready chan<- probes.Ready) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var head struct{ Type string }
		if json.Unmarshal(sc.Bytes(), &head) != nil {
			continue
		}
		switch head.Type {
		case "ready":
			var m probes.Ready
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				select {
				case ready <- m:
				default:
				}
			}
		case "result":
			var m probes.Result
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			l.mu.Lock()
			ch := l.wait[m.ID]
			delete(l.wait, m.ID)
			l.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}
	l.err = l.cmd.Wait()
	close(l.done)
}

func (l *probeLane) Name() string    { return l.name }
func (l *probeLane) Kind() string    { return KindSDK }
func (l *probeLane) Version() string { return l.version }

func (l *probeLane) Call(ctx context.Context, check bool) Call {
	ch := make(chan probes.Result, 1)
	l.mu.Lock()
	l.nextID++
	id := l.nextID
	l.wait[id] = ch
	l.mu.Unlock()
	line, _ := json.Marshal(probes.Request{Op: "retrieve", ID: id, Check: check})
	l.wmu.Lock()
	_, err := l.stdin.Write(append(line, '\n'))
	l.wmu.Unlock()
	if err != nil {
		return Call{Err: "probe: " + err.Error()}
	}
	select {
	case r := <-ch:
		c := Call{AccessKeyID: r.AccessKeyID, Source: r.Source, Check: r.Check, CheckError: r.CheckError, Err: r.Error,
			Latency: time.Duration(r.LatencyMS * float64(time.Millisecond))}
		if r.Expires != "" {
			c.Expires, _ = time.Parse(time.RFC3339, r.Expires)
		}
		if c.Source == "" {
			c.Source = probes.SourceUnknown
		}
		return c
	case <-l.done:
		return Call{Err: fmt.Sprintf("probe exited: %v: %s", l.err, l.lastStderr())}
	case <-ctx.Done():
		return Call{Err: "no answer: " + ctx.Err().Error()}
	}
}

// Close asks the probe to quit and waits up to 10 s before killing it.
func (l *probeLane) Close() error {
	l.wmu.Lock()
	_, _ = l.stdin.Write([]byte(`{"op":"quit"}` + "\n"))
	_ = l.stdin.Close()
	l.wmu.Unlock()
	select {
	case <-l.done:
	case <-time.After(10 * time.Second):
		_ = l.cmd.Process.Kill()
		<-l.done
	}
	os.RemoveAll(l.tmp)
	var ee *exec.ExitError
	if l.err != nil && !(errors.As(l.err, &ee) && ee.ExitCode() == 0) {
		return fmt.Errorf("lab: lane %s: probe: %w", l.name, l.err)
	}
	return nil
}
