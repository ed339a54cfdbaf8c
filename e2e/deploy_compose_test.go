package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDeploy_Compose brings deploy/compose/compose.yaml up with
// docker-compose through podman's API socket (no Docker daemon): two apps,
// each sharing the network namespace of its own imdsemu sidecar, each
// getting its own role with no endpoint variable; then tears it down. Only
// the apps' images are replaced.
func TestDeploy_Compose(t *testing.T) {
	p := newPodman(t)
	run := p.composeUp("compose.yaml", "imdsemutest")

	keys := map[string]string{}
	for _, name := range []string{"web", "worker"} {
		sidecar := "imdsemutest_imdsemu-" + name + "_1"
		ns := p.netnsOf(sidecar)
		p.waitHealthy(ns, sidecar)
		// The pair has no network but its loopback: no route anywhere.
		if out, err := nsCommand(t, ns, nil, "ip", "route", "show", "table", "all").CombinedOutput(); err != nil || strings.Contains(string(out), "default") || strings.Contains(string(out), "169.254") && !strings.Contains(string(out), "local 169.254.169.254 dev lo") {
			t.Errorf("routes in %s's namespace: %v\n%s", name, err, out)
		}
		role, key := servedRoleKeyIn(t, ns, "http://169.254.169.254/") // inside the pair's own network namespace
		if role != name+"-role" {
			t.Errorf("%s's sidecar serves role %q, want %s-role", name, role, name)
		}
		if r := waitAppKey(t, p, "imdsemutest_"+name+"_1", key); r.Source != "EC2RoleProvider" {
			t.Errorf("%s's credentials from %q, want EC2RoleProvider", name, r.Source)
		}
		keys[name] = key
	}
	if keys["web"] == keys["worker"] {
		t.Errorf("both apps got key %s", keys["web"])
	}
	// With podman's API the first down can leave a sidecar behind (its app
	// still held its namespace); a second removes it.
	run("down", "-v", "-t", "2")
	if out, err := run("down", "-v", "-t", "2"); err != nil {
		t.Errorf("docker-compose down: %v\n%s", err, out)
	}
	if left := p.must("ps", "-aq"); left != "" {
		t.Errorf("containers left after docker-compose down: %s", left)
	}
}

// composeUp runs deploy/compose/FILE as project with docker-compose through
// podman's API socket, the imdsemu image and the apps' images
// (registry.example.com/web and /worker) replaced by the test's, and
// returns a runner of further docker-compose commands. Cleanup runs down
// twice (with podman's API the first can leave a container whose
// namespace another still held).
func (p *podmanEnv) composeUp(name, project string) func(args ...string) (string, error) {
	p.t.Helper()
	compose := lookTool(p.t, "docker-compose")
	p.buildImage()
	app := p.buildAppImage()
	sock := p.apiSocket()
	dir := filepath.Join(p.dir, "compose")
	copyTree(p.t, "../deploy/compose", dir)
	file := filepath.Join(dir, name)
	yml, err := os.ReadFile(file)
	if err != nil {
		p.t.Fatal(err)
	}
	for _, r := range [][2]string{
		{"image: localhost/imdsemu:latest", "image: " + imageTag},
		{"image: registry.example.com/web:latest", "image: " + app + "\n    command: [-every, 1s]"},
		{"image: registry.example.com/worker:latest", "image: " + app + "\n    command: [-every, 1s]"},
	} {
		if !bytes.Contains(yml, []byte(r[0])) {
			p.t.Fatalf("%s has no %q", name, r[0])
		}
		yml = bytes.ReplaceAll(yml, []byte(r[0]), []byte(r[1]))
	}
	if err := os.WriteFile(file, yml, 0o644); err != nil {
		p.t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(compose, append([]string{"-p", project, "-f", file}, args...)...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.dir, "DOCKER_HOST=unix://" + sock}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	p.t.Cleanup(func() { // after a failure; the store's cleanup removes what is left
		run("down", "-v", "-t", "2")
		run("down", "-v", "-t", "2")
	})
	if out, err := run("up", "-d"); err != nil {
		p.t.Fatalf("docker-compose up: %v\n%s", err, out)
	}
	return run
}

// apiSocket starts `podman system service` for this store on a socket in
// its directory, for docker-compose; it is stopped when the test ends.
func (p *podmanEnv) apiSocket() string {
	p.t.Helper()
	sock := filepath.Join(p.dir, "podman.sock")
	cmd := p.cmd("system", "service", "--time=0", "unix://"+sock)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Registered after newPodman's cleanup, so it runs first: the service
	// stops before the store goes.
	p.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("podman system service made no socket in 30s:\n%s", log.String())
		}
	}
}
