package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the imdsemu binary built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	if os.Getenv(netnsHelperEnv) != "" || os.Getenv(crashWriterEnv) != "" {
		// This binary re-executed as a helper process: it needs no imdsemu.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "imdsemu-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "imdsemu")
	build := exec.Command("go", "build", "-race", "-o", binary, "../cmd/imdsemu")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building imdsemu:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// emulator is a running `imdsemu serve` process.
type emulator struct {
	cmd      *exec.Cmd
	dataDir  string
	endpoint string // the printed AWS_EC2_METADATA_SERVICE_ENDPOINT: http://127.0.0.1:PORT/
	admin    string // http://127.0.0.1:PORT of the admin listener
	stdout   *lineLog
	stderr   *lineLog
	done     chan error
	stopOnce sync.Once
}

// lineLog collects a stream's lines; the test reads it on failure.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// credentialVars are the AWS variables that could bring a real credential or
// profile into a test. Child processes start from an empty environment, so
// they never have them; in-process SDK tests set each to "".
var credentialVars = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_V1_DISABLED",
}

// cleanEnv is the environment for a child process: nothing from the machine
// but PATH, none of credentialVars (botocore rejects an empty AWS_PROFILE, so
// they are left out rather than set empty), and the shared files pointed at
// empty temp files.
func cleanEnv(t testing.TB, extra ...string) []string {
	t.Helper()
	home := t.TempDir()
	empty := filepath.Join(home, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"AWS_SHARED_CREDENTIALS_FILE=" + empty,
		"AWS_CONFIG_FILE=" + empty,
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
	}
	return append(env, extra...)
}

// startEmulator runs `imdsemu serve` with args on free loopback ports and
// waits for its ready line.
func startEmulator(t *testing.T, args ...string) *emulator {
	t.Helper()
	dataDir := t.TempDir()
	full := append([]string{"serve", "--data-dir", dataDir, "--metadata-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--sts-addr", "127.0.0.1:0"}, args...)
	cmd := exec.Command(binary, full...)
	cmd.Env = cleanEnv(t)
	return launch(t, cmd, dataDir, "")
}

// launch starts cmd, an `imdsemu serve` (where names the network namespace
// it runs in, for messages), records what it prints, and waits for its
// ready line. The process is stopped with SIGTERM when the test ends.
func launch(t *testing.T, cmd *exec.Cmd, dataDir, where string) *emulator {
	t.Helper()
	e := &emulator{cmd: cmd, dataDir: dataDir, stdout: &lineLog{}, stderr: &lineLog{}, done: make(chan error, 1)}
	if where != "" {
		where = " in " + where
	}
	out, err := e.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errPipe, err := e.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			e.stderr.add(sc.Text())
		}
	}()
	go func() {
		sc := bufio.NewScanner(out)
		var once sync.Once
		for sc.Scan() {
			line := sc.Text()
			e.stdout.add(line)
			if v, ok := strings.CutPrefix(line, "export AWS_EC2_METADATA_SERVICE_ENDPOINT="); ok {
				e.endpoint = v
			}
			if v, ok := strings.CutPrefix(line, "imdsemu: admin on "); ok {
				e.admin, _, _ = strings.Cut(v, " ")
			}
			if line == "imdsemu: ready" {
				once.Do(func() { close(ready) })
			}
		}
		e.done <- e.cmd.Wait()
	}()
	t.Cleanup(func() { e.stop(t) })
	select {
	case <-ready:
	case err := <-e.done:
		e.done <- err
		t.Fatalf("imdsemu%s exited before ready: %v\nstdout:\n%s\nstderr:\n%s", where, err, e.stdout, e.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("imdsemu%s not ready after 60s\nstdout:\n%s\nstderr:\n%s", where, e.stdout, e.stderr)
	}
	return e
}

// stop sends SIGTERM and waits for a graceful exit.
func (e *emulator) stop(t *testing.T) {
	t.Helper()
	e.stopOnce.Do(func() {
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-e.done:
			if err != nil {
				t.Errorf("imdsemu exit after SIGTERM: %v\nstderr:\n%s", err, e.stderr)
			}
		case <-time.After(20 * time.Second):
			_ = e.cmd.Process.Kill()
			t.Errorf("imdsemu did not stop within 20s of SIGTERM")
		}
	})
}

// do sends one request to the emulator and returns status, headers and body.
func (e *emulator) do(t *testing.T, method, path string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, strings.TrimSuffix(e.endpoint, "/")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// token gets an IMDSv2 token.
func (e *emulator) token(t *testing.T) string {
	t.Helper()
	code, _, body := e.do(t, http.MethodPut, "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "300"})
	if code != http.StatusOK {
		t.Fatalf("token PUT = %d", code)
	}
	return body
}

// requireTool returns the path of a client the tests need. CI installs every
// one of them (.ci/run); elsewhere a missing tool skips the test.
// cannotRun stops a test that cannot run here: under CI (CI set, as
// .ci/run runs) it fails with the reason, since CI must run every test;
// elsewhere it skips.
func cannotRun(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("cannot run under CI: "+format, args...)
	}
	t.Skipf(format, args...)
}

func requireTool(t *testing.T, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing; .ci/run should have installed it", path)
		}
		t.Skipf("%s not installed (apt-get install python3-boto3 awscli)", path)
	}
	return path
}

// lookTool finds a command on PATH the way requireTool finds a file: missing
// in CI fails the test, elsewhere it skips.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing; .ci/run should have installed it", name)
		}
		t.Skipf("%s not installed", name)
	}
	return path
}
