package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDeploy_ContainerImage builds deploy/container/Containerfile in an
// isolated store and runs it with a read-only root, no capabilities and no
// network: /healthz answers inside the container's network namespace, and
// --link-local without the address says how to add it.
func TestDeploy_ContainerImage(t *testing.T) {
	p := newPodman(t)
	image := p.buildImage()
	var cfg []struct {
		Config struct {
			User       string
			Entrypoint []string
			Volumes    map[string]struct{}
		}
	}
	if err := json.Unmarshal([]byte(p.must("image", "inspect", image)), &cfg); err != nil || len(cfg) != 1 {
		t.Fatalf("image inspect: %v", err)
	}
	c := cfg[0].Config
	if c.User != "65532:65532" || strings.Join(c.Entrypoint, " ") != "/usr/local/bin/imdsemu" {
		t.Errorf("image runs %v as %q, want /usr/local/bin/imdsemu as 65532:65532", c.Entrypoint, c.User)
	}
	if _, ok := c.Volumes["/var/lib/imdsemu"]; !ok {
		t.Errorf("image volumes %v, want /var/lib/imdsemu", c.Volumes)
	}

	p.must("run", "-d", "--name", "imdsemu", "--read-only", "--cap-drop", "ALL", "--network", "none", image, "serve")
	ns := p.netnsOf("imdsemu")
	p.waitHealthy(ns, "imdsemu")
	// The data directory baked into the image is the runtime user's.
	if code, out := curlIn(t, ns, "-sf", "-m", "5", "http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/"); code != 0 || out != "imdsemu-demo" {
		t.Errorf("credentials listing in the container: curl exit %d %q", code, out)
	}
	if logs := p.must("logs", "imdsemu"); !strings.Contains(logs, "imdsemu: data directory /var/lib/imdsemu/data") {
		t.Errorf("log lacks the data directory:\n%s", logs)
	}

	out, err := p.run("run", "--rm", "--read-only", "--cap-drop", "ALL", "--network", "none", image, "serve", "--link-local")
	if err == nil || !strings.Contains(out, "ip addr add 169.254.169.254/32 dev lo") {
		t.Errorf("serve --link-local with no address: %v\n%s\nwant a failure printing the command", err, out)
	}
}

// TestDeploy_PodSidecar is the sidecar pattern with podman: a pod with no
// network, the link-local address added to its loopback by imdsemu itself
// with NET_ADMIN (as an init container would), imdsemu serving with only
// NET_BIND_SERVICE, and an app with the Go SDK's default chain and no
// endpoint variable getting the role's credentials. boto3 runs from the
// machine inside the pod's network namespace (nsenter --net: the pod's
// network, the machine's files), as there is no Python image to run.
func TestDeploy_PodSidecar(t *testing.T) {
	p := newPodman(t)
	image, app := p.buildImage(), p.buildAppImage()
	p.must("pod", "create", "--name", "app", "--network", "none")

	// The init step: only it has NET_ADMIN.
	out := p.must("run", "--rm", "--pod", "app", "--read-only", "--cap-drop", "ALL", "--cap-add", "NET_ADMIN", image, "link-local", "add")
	if !strings.Contains(out, "169.254.169.254 is on lo") {
		t.Errorf("link-local add printed:\n%s", out)
	}
	ns := p.netnsOf(p.must("pod", "inspect", "-f", "{{.InfraContainerID}}", "app")) // running since the first container
	// Port 80 as uid 65532 without NET_BIND_SERVICE is refused, and says so.
	out, err := p.run("run", "--rm", "--pod", "app", "--read-only", "--cap-drop", "ALL", image, "serve", "--link-local")
	if err == nil || !strings.Contains(out, "CAP_NET_BIND_SERVICE") {
		t.Errorf("serve --link-local without NET_BIND_SERVICE: %v\n%s\nwant a bind failure naming CAP_NET_BIND_SERVICE", err, out)
	}
	p.must("run", "-d", "--pod", "app", "--name", "imdsemu", "--read-only", "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE",
		image, "serve", "--link-local", "--http-tokens", "required")
	p.waitHealthy(ns, "imdsemu")
	want := servedKeyIn(t, ns, "http://169.254.169.254/") // inside the pod's network namespace

	r := appResult(t, p.must("run", "--rm", "--pod", "app", "--read-only", "--cap-drop", "ALL", app))
	if r.Error != "" || r.Source != "EC2RoleProvider" || r.AccessKeyID != want {
		t.Errorf("Go SDK default chain in the app container = %+v, want EC2RoleProvider with %s", r, want)
	}
	if method, key := botoIn(t, ns); method != "iam-role" || key != want {
		t.Errorf("boto3 default chain in the pod's network = %q %q, want iam-role %s", method, key, want)
	}
}

// systemdThreshold is the highest exposure score, in tenths, that
// `systemd-analyze security` may give deploy/systemd/imdsemu.service (it
// scores 0.9 with systemd 252).
const systemdThreshold = 12

// TestDeploy_SystemdUnit checks the hardened unit with systemd-analyze:
// verify must print nothing (it exits 0 on unknown keys), and the offline
// security score must stay under systemdThreshold.
func TestDeploy_SystemdUnit(t *testing.T) {
	analyze := lookTool(t, "systemd-analyze")
	unit, err := os.ReadFile("../deploy/systemd/imdsemu.service")
	if err != nil {
		t.Fatal(err)
	}
	// verify checks that ExecStart is executable: point it at the binary
	// the tests built.
	const execPath = "/usr/local/bin/imdsemu"
	if !bytes.Contains(unit, []byte("ExecStart="+execPath+" ")) {
		t.Fatalf("unit does not start %s", execPath)
	}
	path := filepath.Join(t.TempDir(), "imdsemu.service")
	if err := os.WriteFile(path, bytes.ReplaceAll(unit, []byte(execPath), []byte(binary)), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(analyze, "verify", path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("systemd-analyze verify: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out, err := exec.Command(analyze, "security", "--offline=true", "--threshold="+strconv.Itoa(systemdThreshold), path).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for imdsemu.service: ([0-9.]+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security --threshold=%d: %v\n%s", systemdThreshold, err, out)
	}
	t.Logf("systemd-analyze security: exposure %s (threshold %.1f)", m[1], float64(systemdThreshold)/10)
}

// probeResult is what sdkprobe prints.
type probeResult struct {
	Source      string `json:"source"`
	AccessKeyID string `json:"access_key_id"`
	Error       string `json:"error"`
}

// appResult parses the first line sdkprobe printed.
func appResult(t *testing.T, out string) probeResult {
	t.Helper()
	line, _, _ := strings.Cut(out, "\n")
	var r probeResult
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("app output %q: %v", out, err)
	}
	return r
}
