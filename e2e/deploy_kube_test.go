package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDeploy_KubePlay runs deploy/kubernetes/pod.yaml, the classic sidecar
// form, with `podman kube play --network none`: the init container adds the
// address, imdsemu serves the ConfigMap's role with the Secret's admin
// token, and the app (the Go SDK's default chain, no endpoint variable)
// gets that role's credentials. Only the app's image and the Secret's
// placeholder are replaced.
func TestDeploy_KubePlay(t *testing.T) {
	p := newPodman(t)
	p.buildImage()
	app := p.buildAppImage()
	manifest, err := os.ReadFile("../deploy/kubernetes/pod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	token := make([]byte, 32)
	rand.Read(token)
	adminToken := base64.StdEncoding.EncodeToString(token)
	placeholder := base64.StdEncoding.EncodeToString([]byte("REPLACE ME: openssl rand -base64 32"))
	for _, r := range [][2]string{
		{"image: localhost/imdsemu:latest", "image: " + imageTag},
		{"image: registry.example.com/your-app:latest", "image: " + app + "\n      args: [-every, 1s]"},
		{"admin.token: " + placeholder, "admin.token: " + base64.StdEncoding.EncodeToString([]byte(adminToken))},
	} {
		if !bytes.Contains(manifest, []byte(r[0])) {
			t.Fatalf("pod.yaml has no %q", r[0])
		}
		manifest = bytes.ReplaceAll(manifest, []byte(r[0]), []byte(r[1]))
	}
	path := filepath.Join(p.dir, "pod.yaml")
	if err := os.WriteFile(path, manifest, 0o600); err != nil {
		t.Fatal(err)
	}
	p.must("kube", "play", "--network", "none", path)
	t.Cleanup(func() {
		if out, err := p.run("kube", "down", path); err != nil {
			t.Errorf("podman kube down: %v\n%s", err, out)
		}
	})
	ns := p.netnsOf("app-imdsemu")
	p.waitHealthy(ns, "app-imdsemu")
	role, want := servedRoleKeyIn(t, ns, "http://169.254.169.254/") // inside the pod's network namespace
	if role != "app-role" {
		t.Errorf("imdsemu serves role %q, want app-role from the ConfigMap", role)
	}
	r := waitAppKey(t, p, "app-app", want)
	if r.Source != "EC2RoleProvider" {
		t.Errorf("app's credentials from %q, want EC2RoleProvider", r.Source)
	}
	// The admin token is the Secret's. Kubernetes decodes data: values;
	// podman 4.3 mounts them as written, base64 and all, so there the token
	// is the encoded string (docs/deploy.md).
	mounted, err := os.ReadFile(filepath.Join(p.must("volume", "inspect", "imdsemu-admin", "-f", "{{.Mountpoint}}"), "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	switch string(mounted) {
	case adminToken:
	case base64.StdEncoding.EncodeToString([]byte(adminToken)):
		t.Log("podman mounted the Secret's admin.token still base64-encoded")
	default:
		t.Fatalf("the mounted admin.token is neither the Secret's token nor its encoding")
	}
	if code, out := curlIn(t, ns, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5", "-H", "Authorization: Bearer "+string(mounted), "http://127.0.0.1:1340/v1/options"); code != 0 || out != "200" {
		t.Errorf("control API with the Secret's token: curl exit %d, status %s; want 200", code, out)
	}
	if code, out := curlIn(t, ns, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5", "http://127.0.0.1:1340/v1/options"); code != 0 || out != "401" {
		t.Errorf("control API without a token: curl exit %d, status %s; want 401", code, out)
	}
	// As the manifest says: uid 65532, read-only root, only NET_BIND_SERVICE.
	var c []struct {
		Config        struct{ User string }
		HostConfig    struct{ ReadonlyRootfs bool }
		EffectiveCaps []string
	}
	if err := json.Unmarshal([]byte(p.must("inspect", "app-imdsemu")), &c); err != nil || len(c) != 1 {
		t.Fatalf("inspect: %v", err)
	}
	if c := c[0]; !strings.HasPrefix(c.Config.User, "65532") || !c.HostConfig.ReadonlyRootfs || strings.Join(c.EffectiveCaps, ",") != "CAP_NET_BIND_SERVICE" {
		t.Errorf("imdsemu container: user %q, read-only %v, capabilities %v; want 65532, true, [CAP_NET_BIND_SERVICE]", c.Config.User, c.HostConfig.ReadonlyRootfs, c.EffectiveCaps)
	}
}

// waitAppKey waits for the app container to print a result with key want.
func waitAppKey(t *testing.T, p *podmanEnv, container, want string) probeResult {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		logs, _ := p.run("logs", container)
		for _, line := range strings.Split(logs, "\n") {
			if r := appResultOrZero(line); r.AccessKeyID == want {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never printed key %s; log:\n%s", container, want, logs)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func appResultOrZero(line string) probeResult {
	var r probeResult
	_ = json.Unmarshal([]byte(line), &r)
	return r
}

// kubeconformVersion is the kubeconform the tests validate with; .ci/run
// installs it with go install from the module proxy.
const kubeconformVersion = "v0.7.0"

// TestDeploy_KubernetesManifests validates every manifest in
// deploy/kubernetes strictly (unknown fields are errors) with kubeconform
// and the Kubernetes definitions its module ships, offline.
func TestDeploy_KubernetesManifests(t *testing.T) {
	bin := kubeconform(t)
	schemas := kubeSchemas(t, []string{"ConfigMap", "Secret", "Pod"})
	manifests, err := filepath.Glob("../deploy/kubernetes/*.yaml")
	if err != nil || len(manifests) < 2 {
		t.Fatalf("manifests %v: %v", manifests, err)
	}
	args := []string{"-strict", "-summary", "-schema-location", filepath.Join(schemas, "{{ .ResourceKind }}-{{ .ResourceAPIVersion }}.json")}
	out, err := exec.Command(bin, append(args, manifests...)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Invalid: 0, Errors: 0, Skipped: 0") {
		t.Errorf("kubeconform %v: %v\n%s", manifests, err, out)
	}
	t.Logf("kubeconform %s: %s", kubeconformVersion, strings.TrimSpace(string(out)))
	// Strict means strict: a misspelt field fails.
	pod, err := os.ReadFile("../deploy/kubernetes/pod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, bytes.Replace(pod, []byte("readOnlyRootFilesystem:"), []byte("readOnlyRootFS:"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, append(args, bad)...).CombinedOutput(); err == nil || !strings.Contains(string(out), "readOnlyRootFS") {
		t.Errorf("kubeconform accepted a misspelt field: %v\n%s", err, out)
	}
}

// kubeconform finds the pinned kubeconform: on PATH or in $GOPATH/bin.
func kubeconform(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("kubeconform")
	if err != nil {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		path = filepath.Join(strings.TrimSpace(string(gopath)), "bin", "kubeconform")
	}
	info, err := exec.Command("go", "version", "-m", path).Output()
	if err != nil {
		cannotRun(t, "kubeconform %s is not installed (go install github.com/yannh/kubeconform/cmd/kubeconform@%s): %v", kubeconformVersion, kubeconformVersion, err)
	}
	if !strings.Contains(string(info), "github.com/yannh/kubeconform\t"+kubeconformVersion) {
		t.Fatalf("%s is not kubeconform %s:\n%s", path, kubeconformVersion, info)
	}
	return path
}

// kubeSchemas writes a strict JSON schema for each kind (core/v1) from the
// Kubernetes OpenAPI definitions in kubeconform's module (its test cache):
// every object definition gets additionalProperties: false.
func kubeSchemas(t *testing.T, kinds []string) string {
	t.Helper()
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(strings.TrimSpace(string(modcache)), "github.com", "yannh", "kubeconform@"+kubeconformVersion, "fixtures", "cache")
	files, err := os.ReadDir(cache)
	if err != nil {
		cannotRun(t, "kubeconform's module is not in the module cache: %v", err)
	}
	var defs map[string]map[string]any
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(cache, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Definitions map[string]map[string]any `json:"definitions"`
		}
		if json.Unmarshal(data, &doc) == nil && doc.Definitions["io.k8s.api.core.v1.Pod"] != nil {
			defs = doc.Definitions
		}
	}
	if defs == nil {
		t.Fatalf("no Kubernetes definitions in %s", cache)
	}
	for _, d := range defs {
		if _, ok := d["properties"]; ok {
			if _, set := d["additionalProperties"]; !set {
				d["additionalProperties"] = false
			}
		}
	}
	dir := t.TempDir()
	for _, kind := range kinds {
		data, err := json.Marshal(map[string]any{"$ref": "#/definitions/io.k8s.api.core.v1." + kind, "definitions": defs})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-v1.json", strings.ToLower(kind))), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
