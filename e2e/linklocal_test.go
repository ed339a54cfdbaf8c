package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/imdsemu/imdsemu/internal/linklocal"
)

// `imdsemu serve --link-local --claim-address` in a network namespace the
// test makes: imdsemu adds 169.254.169.254 and fd00:ec2::254 to that
// namespace's loopback, the SDKs find it with no endpoint configured, and
// the addresses are gone once it exits. The refusal test runs in the
// machine's own namespace and checks that nothing was added there.

// TestLinkLocal_ClaimInNetns claims the addresses inside the test's own
// network namespace and serves both SDKs there with no endpoint variable.
func TestLinkLocal_ClaimInNetns(t *testing.T) {
	ns := netns(t, "claim")
	dataDir := t.TempDir()
	// Inside the test's own network namespace only.
	e := launch(t, nsCommand(t, ns, nil, binary, "serve", "--data-dir", dataDir, "--admin-addr", "127.0.0.1:0",
		"--link-local", "--claim-address", "--http-tokens", "required"), dataDir, ns)
	for _, want := range []string{"imdsemu: added 169.254.169.254 to lo (removed at exit)", "imdsemu: added fd00:ec2::254 to lo (removed at exit)",
		"metadata service also on http://[fd00:ec2::254]:80"} {
		if !strings.Contains(e.stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, e.stdout)
		}
	}
	want := servedKeyIn(t, ns, "http://169.254.169.254/") // inside the test's own network namespace
	if v6 := servedKeyIn(t, ns, "http://[fd00:ec2::254]/"); v6 != want {
		t.Errorf("IPv6 listener serves %s, IPv4 %s", v6, want)
	}
	if r := goSDKIn(t, ns); r.Error != "" || r.Source != "EC2RoleProvider" || r.AccessKeyID != want {
		t.Errorf("Go SDK default chain = %+v, want EC2RoleProvider with %s", r, want)
	}
	if method, key := botoIn(t, ns); method != "iam-role" || key != want {
		t.Errorf("boto3 default chain = %q %q, want iam-role %s", method, key, want)
	}
	e.stop(t)
	if out := ipOut(t, "-n", ns, "addr", "show", "dev", "lo"); strings.Contains(out, linklocal.IPv4) || strings.Contains(out, linklocal.IPv6) {
		t.Errorf("addresses left on lo of %s after exit:\n%s", ns, out)
	}
}

// TestLinkLocal_WithoutAddress: --link-local in a namespace without the
// address fails and prints the commands that would add it; add as an
// unprivileged user fails saying CAP_NET_ADMIN; serving port 80 as a
// non-root user fails saying CAP_NET_BIND_SERVICE.
func TestLinkLocal_WithoutAddress(t *testing.T) {
	ns := netns(t, "noaddr")
	out, err := nsCommand(t, ns, nil, binary, "serve", "--data-dir", t.TempDir(), "--admin-addr", "127.0.0.1:0", "--link-local").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ip addr add 169.254.169.254/32 dev lo") || !strings.Contains(string(out), "ip -6 addr add fd00:ec2::254/128 dev lo nodad") {
		t.Errorf("serve --link-local without the address: %v\n%s\nwant a failure printing the ip commands", err, out)
	}

	// As uid 65532: no capability to add addresses nor to bind port 80.
	bin, dataDir := unprivilegedCopy(t)
	setpriv := []string{"--reuid", "65532", "--regid", "65532", "--clear-groups", "--inh-caps", "-all", "--bounding-set", "-all"}
	out, err = nsCommand(t, ns, nil, lookTool(t, "setpriv"), append(setpriv, bin, "link-local", "add")...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "CAP_NET_ADMIN") {
		t.Errorf("link-local add as uid 65532: %v\n%s\nwant a failure naming CAP_NET_ADMIN", err, out)
	}
	ip(t, "-n", ns, "addr", "add", "169.254.169.254/32", "dev", "lo") // the test namespace's own loopback, never the machine's
	out, err = nsCommand(t, ns, nil, "setpriv", append(setpriv, bin, "serve", "--data-dir", dataDir, "--admin-addr", "127.0.0.1:0", "--link-local")...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "CAP_NET_BIND_SERVICE") || !strings.Contains(string(out), "port 80") {
		t.Errorf("serve --link-local as uid 65532: %v\n%s\nwant a bind failure naming CAP_NET_BIND_SERVICE", err, out)
	}
}

// TestLinkLocal_RefusedInMachineNamespace runs the claim in the test's own
// network namespace, which is the machine's: imdsemu refuses before it
// changes anything, and says why.
func TestLinkLocal_RefusedInMachineNamespace(t *testing.T) {
	n, err := linklocal.ReadNamespace("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if v, why := n.Classify(); v == linklocal.Separate {
		// Then a claim would succeed here; that is not this test's case.
		if os.Getenv("CI") != "" {
			t.Fatalf("the tests run in a network namespace of their own (%s), so the refusal in the machine's namespace cannot be shown", why)
		}
		t.Skipf("not in the machine's network namespace: %s", why)
	}
	before := ipOut(t, "addr", "show")
	for _, args := range [][]string{
		{"serve", "--data-dir", t.TempDir(), "--admin-addr", "127.0.0.1:0", "--sts-addr", "127.0.0.1:0", "--link-local", "--claim-address"},
		{"link-local", "add"},
	} {
		cmd := exec.Command(binary, args...)
		cmd.Env = cleanEnv(t)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("imdsemu %s in the machine's network namespace succeeded:\n%s", strings.Join(args, " "), out)
		}
		for _, want := range []string{"refusing to claim the link-local metadata address", "machine's own network namespace",
			"IS the real instance metadata service", linklocal.OverrideFlag} {
			if !strings.Contains(string(out), want) {
				t.Errorf("imdsemu %s: output lacks %q:\n%s", args[0], want, out)
			}
		}
	}
	if after := ipOut(t, "addr", "show"); after != before || strings.Contains(after, linklocal.IPv4) {
		t.Errorf("the machine's addresses changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// ipOut runs ip and returns what it prints.
func ipOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(lookTool(t, "ip"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// unprivilegedCopy copies the imdsemu binary where uid 65532 can run it and
// makes a data directory that user owns.
func unprivilegedCopy(t *testing.T) (bin, dataDir string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "imdsemu-uid65532-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	bin, dataDir = dir+"/imdsemu", dir+"/data"
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, dataDir} {
		if err := os.Chown(p, 65532, 65532); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, dataDir
}
