package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Endpoints are where the server under test answers.
type Endpoints struct {
	Metadata string // with the trailing slash, as AWS_EC2_METADATA_SERVICE_ENDPOINT
	STS      string
	Admin    string
	Token    string // admin bearer token
	DataDir  string // for the store commands; "" when unknown
}

// Emulator is an "imdsemu serve" the lab started in a temporary data
// directory on free loopback ports.
type Emulator struct {
	Endpoints
	cmd    *exec.Cmd
	tmp    string
	done   chan error
	mu     sync.Mutex
	output []string // what serve printed, for errors
}

// StartEmulator runs exe serve with flags (name → value, without "--")
// and waits until it is ready.
func StartEmulator(ctx context.Context, exe string, flags map[string]string) (*Emulator, error) {
	tmp, err := os.MkdirTemp("", "imdsemu-lab-")
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--data-dir", tmp, "--metadata-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--sts-addr", "127.0.0.1:0"}
	names := make([]string, 0, len(flags))
	for k := range flags {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		args = append(args, "--"+k, flags[k])
	}
	e := &Emulator{tmp: tmp, done: make(chan error, 1)}
	e.DataDir = tmp
	e.cmd = exec.Command(exe, args...)
	e.cmd.Env = append(os.Environ(), "IMDSEMU_CONFIG=", "IMDSEMU_DATA_DIR=")
	out, err := e.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	e.cmd.Stderr = e.cmd.Stdout
	if err := e.cmd.Start(); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("lab: start imdsemu serve: %w", err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		var once sync.Once
		for sc.Scan() {
			line := sc.Text()
			e.mu.Lock()
			if len(e.output) < 200 {
				e.output = append(e.output, line)
			}
			if v, ok := strings.CutPrefix(line, "export AWS_EC2_METADATA_SERVICE_ENDPOINT="); ok {
				e.Metadata = v
			}
			if v, ok := strings.CutPrefix(line, "export AWS_ENDPOINT_URL_STS="); ok {
				e.STS = v
			}
			if v, ok := strings.CutPrefix(line, "imdsemu: admin on "); ok {
				addr, _, _ := strings.Cut(v, " ")
				if !strings.HasPrefix(addr, "http") {
					addr = "http://" + addr
				}
				e.Admin = addr
			}
			e.mu.Unlock()
			if line == "imdsemu: ready" {
				once.Do(func() { close(ready) })
			}
		}
		e.done <- e.cmd.Wait()
	}()
	select {
	case <-ready:
	case err := <-e.done:
		e.done <- err
		e.cleanup()
		return nil, fmt.Errorf("lab: imdsemu serve exited before ready (%v):\n%s", err, e.printed())
	case <-time.After(60 * time.Second):
		e.Stop()
		return nil, fmt.Errorf("lab: imdsemu serve not ready within 60 s:\n%s", e.printed())
	case <-ctx.Done():
		e.Stop()
		return nil, ctx.Err()
	}
	tok, err := os.ReadFile(filepath.Join(tmp, "admin.token"))
	if err != nil {
		e.Stop()
		return nil, fmt.Errorf("lab: admin token: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Token = strings.TrimSpace(string(tok))
	if e.Metadata == "" || e.STS == "" || e.Admin == "" {
		go e.Stop()
		return nil, errors.New("lab: imdsemu serve did not print its metadata, STS and admin addresses")
	}
	return e, nil
}

func (e *Emulator) printed() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.output, "\n")
}

// Stop ends the server (SIGTERM, then SIGKILL after 10 s) and removes its
// data directory.
func (e *Emulator) Stop() {
	if e.cmd.Process != nil {
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-e.done:
			e.done <- err
		case <-time.After(10 * time.Second):
			_ = e.cmd.Process.Kill()
			e.done <- <-e.done
		}
	}
	e.cleanup()
}

func (e *Emulator) cleanup() { os.RemoveAll(e.tmp) }
