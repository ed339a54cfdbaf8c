package e2e

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The deploy tests run the recipes in deploy/ with podman, each in a store
// of its own under a temp directory (--root, --runroot, its own
// containers.conf), and remove containers, pods, images and the store when
// they end, failed or not. Containers get no network route out: --network
// none, so nothing in them can reach a real metadata service. What works on
// this machine kind, and why runc and these settings, is in
// docs/deploy.md ("How the recipes are tested").

// needRoot stops the test (cannotRun: a failure under CI, which runs as
// root) unless it runs as root.
func needRoot(t *testing.T, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		cannotRun(t, "%s needs root", what)
	}
}

// static holds imdsemu and the sdkprobe app, built once without cgo for
// images FROM scratch.
var static struct {
	once         sync.Once
	imdsemu, app string
	err          error
}

// staticBinaries builds (once) the static imdsemu and sdkprobe binaries,
// next to the race-enabled binary TestMain built and removes.
func staticBinaries(t *testing.T) (imdsemu, app string) {
	t.Helper()
	static.once.Do(func() {
		dir := filepath.Join(filepath.Dir(binary), "static")
		cmd := exec.Command("go", "build", "-o", dir+"/", "../cmd/imdsemu", "./sdkprobe")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			static.err = fmt.Errorf("CGO_ENABLED=0 go build: %v\n%s", err, out)
			return
		}
		static.imdsemu, static.app = filepath.Join(dir, "imdsemu"), filepath.Join(dir, "sdkprobe")
	})
	if static.err != nil {
		t.Fatal(static.err)
	}
	return static.imdsemu, static.app
}

// podmanEnv is podman with a store of its own.
type podmanEnv struct {
	t   *testing.T
	dir string
	env []string
}

// newPodman makes an isolated podman store; it is removed when the test
// ends, with everything in it.
func newPodman(t *testing.T) *podmanEnv {
	t.Helper()
	needRoot(t, "podman with an isolated store")
	for _, tool := range []string{"podman", "runc", "nsenter", "curl"} {
		lookTool(t, tool)
	}
	dir, err := os.MkdirTemp("", "imdsemu-podman-")
	if err != nil {
		t.Fatal(err)
	}
	p := &podmanEnv{t: t, dir: dir}
	t.Cleanup(p.cleanup)
	// runc, not crun (which cannot set RLIMIT_NOFILE here); ulimits within
	// the hard limit; cgroupfs (no systemd); events, networks and temp files
	// inside the store's directory.
	conf := fmt.Sprintf(`[containers]
default_ulimits=["nofile=4096:4096","nproc=4096:4096"]
log_driver="k8s-file"
[engine]
runtime="runc"
cgroup_manager="cgroupfs"
events_logger="file"
events_logfile_path=%[1]q
tmp_dir=%[2]q
[network]
network_config_dir=%[3]q
`, filepath.Join(dir, "events.log"), filepath.Join(dir, "tmp"), filepath.Join(dir, "networks"))
	confPath := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	p.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "CONTAINERS_CONF=" + confPath, "TMPDIR=" + dir}
	return p
}

// args are podman's global options for this store.
func (p *podmanEnv) args() []string {
	return []string{"--root", filepath.Join(p.dir, "root"), "--runroot", filepath.Join(p.dir, "runroot")}
}

func (p *podmanEnv) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command("podman", append(p.args(), args...)...)
	cmd.Env = p.env
	return cmd
}

// run runs podman and returns its combined output, trimmed.
func (p *podmanEnv) run(args ...string) (string, error) {
	out, err := p.cmd(args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// must runs podman and fails the test if it fails.
func (p *podmanEnv) must(args ...string) string {
	p.t.Helper()
	out, err := p.run(args...)
	if err != nil {
		p.t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// cleanup removes every pod and container, then the store; a mount left
// under it is unmounted first.
func (p *podmanEnv) cleanup() {
	for _, args := range [][]string{{"pod", "rm", "-af", "-t", "0"}, {"rm", "-af", "-t", "0"}, {"volume", "prune", "-f"}, {"secret", "rm", "-a"}} {
		if out, err := p.run(args...); err != nil {
			p.t.Errorf("cleanup: podman %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, m := range mountsUnder(p.dir) {
		if out, err := exec.Command("umount", "-l", m).CombinedOutput(); err != nil {
			p.t.Errorf("cleanup: umount %s: %v: %s", m, err, out)
		}
	}
	if err := os.RemoveAll(p.dir); err != nil {
		p.t.Errorf("cleanup: %v", err)
	}
}

// mountsUnder lists the mount points under dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var ms []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			ms = append(ms, fields[4])
		}
	}
	slices.Sort(ms)
	slices.Reverse(ms)
	return ms
}

// imageTag is the tag the tests give the imdsemu image.
const imageTag = "localhost/imdsemu:test"

// buildImage builds deploy/container/Containerfile as `make image` does,
// from a copy of the files it needs, and returns the tag.
func (p *podmanEnv) buildImage() string {
	p.t.Helper()
	bin, _ := staticBinaries(p.t)
	ctx := filepath.Join(p.dir, "context")
	copyTree(p.t, "../deploy/container", filepath.Join(ctx, "deploy", "container"))
	copyFile(p.t, bin, filepath.Join(ctx, "bin", "imdsemu"), 0o755)
	p.must("build", "-q", "-f", filepath.Join(ctx, "deploy", "container", "Containerfile"), "-t", imageTag, ctx)
	return imageTag
}

// appTag is the tag of the app image: sdkprobe FROM scratch.
const appTag = "localhost/imdsemu-sdkprobe:test"

// buildAppImage builds the app image: the static sdkprobe, which runs
// aws-sdk-go-v2's default chain with no endpoint variable.
func (p *podmanEnv) buildAppImage() string {
	p.t.Helper()
	_, app := staticBinaries(p.t)
	ctx := filepath.Join(p.dir, "app-context")
	copyFile(p.t, app, filepath.Join(ctx, "sdkprobe"), 0o755)
	containerfile := "FROM scratch\nCOPY sdkprobe /sdkprobe\nUSER 65534:65534\nENTRYPOINT [\"/sdkprobe\"]\n"
	if err := os.WriteFile(filepath.Join(ctx, "Containerfile"), []byte(containerfile), 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.must("build", "-q", "-t", appTag, ctx)
	return appTag
}

// netnsOf is the network namespace of a running container, for nsCommand.
func (p *podmanEnv) netnsOf(container string) string {
	p.t.Helper()
	pid := p.must("inspect", "-f", "{{.State.Pid}}", container)
	if pid == "" || pid == "0" {
		p.t.Fatalf("container %s is not running", container)
	}
	return "/proc/" + pid + "/ns/net"
}

// waitHealthy polls /healthz on the admin listener inside ns until it
// answers ok; it fails the test with the container's log otherwise.
func (p *podmanEnv) waitHealthy(ns, container string) {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, out := curlIn(p.t, ns, "-sf", "-m", "2", "http://127.0.0.1:1340/healthz") // inside the container's network namespace
		if code == 0 && out == "ok\n" {
			return
		}
		if time.Now().After(deadline) {
			logs, _ := p.run("logs", container)
			p.t.Fatalf("/healthz in %s not ok after 60s (curl exit %d %q); log:\n%s", container, code, out, logs)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func copyFile(t *testing.T, from, to string, mode fs.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, mode); err != nil {
		t.Fatal(err)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		copyFile(t, path, filepath.Join(to, rel), 0o644)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
