package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
)

// These tests need network namespaces, so they run only as root (or with
// CAP_NET_ADMIN and CAP_SYS_ADMIN) and skip otherwise. Each makes its own
// namespaces, named imdsemu-test-<pid>-<name>, and deletes them when it
// ends. The link-local metadata addresses 169.254.169.254 and fd00:ec2::254
// are only ever added, listened on and dialled inside the test's own
// network namespace (DESIGN.md, "Safety rule"); nothing here touches them
// in the machine's namespace.

// requireNetns stops the test (cannotRun: a failure under CI) unless it
// can make network namespaces.
func requireNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		cannotRun(t, "network namespace tests need root")
	}
	for _, tool := range []string{"ip", "curl", "sysctl"} {
		lookTool(t, tool)
	}
}

// netns makes a network namespace with its loopback up and deletes it
// when the test ends. It stops the test (cannotRun) if the namespace
// cannot be made.
func netns(t *testing.T, name string) string {
	t.Helper()
	requireNetns(t)
	ns := fmt.Sprintf("imdsemu-test-%d-%s", os.Getpid(), name)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		cannotRun(t, "cannot make a network namespace (ip netns add %s: %v: %s)", ns, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "delete", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v: %s", ns, err, out)
		}
	})
	ip(t, "-n", ns, "link", "set", "lo", "up")
	return ns
}

// ip runs iproute2's ip and fails the test if it fails.
func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// nsCommand is a command run inside ns with the clean environment. ns is
// the name of a namespace made by netns, or the path of a container's
// network namespace (/proc/PID/ns/net), which nsenter enters.
func nsCommand(t *testing.T, ns string, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	if filepath.IsAbs(ns) {
		cmd = exec.Command("nsenter", append([]string{"--net=" + ns, "--", name}, args...)...)
	}
	cmd.Env = cleanEnv(t, env...)
	return cmd
}

// startEmulatorIn runs `imdsemu serve` inside ns and waits until it is
// ready. The admin listener is on the namespace's own loopback.
func startEmulatorIn(t *testing.T, ns, metadataAddr string, args ...string) *emulator {
	t.Helper()
	dataDir := t.TempDir()
	full := append([]string{"serve", "--data-dir", dataDir, "--metadata-addr", metadataAddr, "--admin-addr", "127.0.0.1:0"}, args...)
	// ip netns exec execs the program, so the process is imdsemu itself
	// and SIGTERM reaches it.
	return launch(t, nsCommand(t, ns, nil, binary, full...), dataDir, ns)
}

// curlIn runs curl inside ns and returns its exit code and output.
func curlIn(t *testing.T, ns string, args ...string) (int, string) {
	t.Helper()
	out, err := nsCommand(t, ns, nil, "curl", append([]string{"-sS"}, args...)...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("curl in %s: %v", ns, err)
	}
	return 0, string(out)
}

// servedKeyIn reads the access key id served inside ns at base (a URL
// ending in "/"), with an IMDSv2 token.
func servedKeyIn(t *testing.T, ns, base string) string {
	t.Helper()
	_, key := servedRoleKeyIn(t, ns, base)
	return key
}

// servedRoleKeyIn reads the role and its access key id served inside ns at
// base, with an IMDSv2 token.
func servedRoleKeyIn(t *testing.T, ns, base string) (role, key string) {
	t.Helper()
	code, tok := curlIn(t, ns, "-m", "5", "-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60", base+"latest/api/token")
	if code != 0 {
		t.Fatalf("token PUT in %s: curl exit %d", ns, code)
	}
	code, role = curlIn(t, ns, "-m", "5", "-H", "X-aws-ec2-metadata-token: "+tok, base+"latest/meta-data/iam/security-credentials/")
	if code != 0 || role == "" {
		t.Fatalf("role listing in %s: curl exit %d", ns, code)
	}
	code, out := curlIn(t, ns, "-m", "5", "-H", "X-aws-ec2-metadata-token: "+tok, base+"latest/meta-data/iam/security-credentials/"+role)
	var doc struct{ AccessKeyId string }
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
		t.Fatalf("credentials GET in %s: curl exit %d", ns, code)
	}
	return role, doc.AccessKeyId
}

// sdkResult is what the Go SDK helper reports.
type sdkResult struct {
	Source, AccessKeyID, Error string
	// Took is how long LoadDefaultConfig and Retrieve took together.
	Took time.Duration
}

// goSDKIn runs TestHelperProcess_NetnsGoSDK (this test binary, re-executed) inside ns:
// aws-sdk-go-v2's unmodified default chain with env added to the clean
// environment, and no endpoint unless env sets one.
func goSDKIn(t *testing.T, ns string, env ...string) sdkResult {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(t.TempDir(), "result.json")
	// The helper's TestMain builds imdsemu again; the Go cache makes that a
	// link, and GOPROXY=off keeps it off the network.
	names := []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS"}
	goEnv, err := exec.Command("go", append([]string{"env"}, names...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range strings.Split(strings.TrimSuffix(string(goEnv), "\n"), "\n") {
		env = append(env, names[i]+"="+v)
	}
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	env = append(env, netnsHelperEnv+"=1", netnsHelperOut+"="+outFile, netnsHelperHost+"="+host, "GOPROXY=off", "GOTOOLCHAIN=local")
	cmd := nsCommand(t, ns, env, self, "-test.run=^TestHelperProcess_NetnsGoSDK$", "-test.count=1")
	cmd.Dir = wd
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("Go SDK helper in %s: %v\n%s", ns, err, out)
	}
	data, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatalf("Go SDK helper wrote no result: %v", err)
	}
	var r sdkResult
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

const (
	netnsHelperEnv = "IMDSEMU_E2E_NETNS_HELPER"
	netnsHelperOut = "IMDSEMU_E2E_NETNS_HELPER_OUT"
	// netnsHelperHost is the test process's network namespace, which the
	// helper must not be in.
	netnsHelperHost = "IMDSEMU_E2E_NETNS_HELPER_HOST"
)

// TestHelperProcess_NetnsGoSDK is not a test (hence the name; it does
// nothing without its environment variable): goSDKIn runs it inside a test's network
// namespace to use aws-sdk-go-v2's default chain there.
func TestHelperProcess_NetnsGoSDK(t *testing.T) {
	if os.Getenv(netnsHelperEnv) != "1" {
		t.Skip("helper process for the network namespace tests")
	}
	// Refuse to run in the namespace the test runs in (the machine's own):
	// the default endpoint there may be the real metadata service.
	self, err := os.Readlink("/proc/self/ns/net")
	host := os.Getenv(netnsHelperHost)
	if err != nil || host == "" || self == host {
		t.Fatalf("refusing to run outside a test network namespace (self %q, test %q)", self, host)
	}
	for _, k := range credentialVars {
		if k != "AWS_EC2_METADATA_DISABLED" && k != "AWS_EC2_METADATA_V1_DISABLED" && os.Getenv(k) != "" {
			t.Fatalf("%s is set in the helper's environment", k)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var r sdkResult
	start := time.Now()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err == nil {
		creds, rerr := cfg.Credentials.Retrieve(ctx)
		r.Source, r.AccessKeyID, err = creds.Source, creds.AccessKeyID, rerr
	}
	r.Took = time.Since(start)
	if err != nil {
		r.Error = err.Error()
	}
	data, _ := json.Marshal(r)
	if err := os.WriteFile(os.Getenv(netnsHelperOut), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// botoIn runs Debian's boto3 default chain inside ns and returns its
// credential method and key ("", "" when it found none).
func botoIn(t *testing.T, ns string, env ...string) (method, key string) {
	t.Helper()
	py := requireTool(t, "/usr/bin/python3")
	script := `
import json, boto3
c = boto3.session.Session().get_credentials()
print(json.dumps({"method": c.method if c else "", "key": c.get_frozen_credentials().access_key if c else ""}))
`
	out, err := nsCommand(t, ns, env, py, "-c", script).Output()
	if err != nil {
		t.Fatalf("boto3 in %s: %v", ns, err)
	}
	var got struct{ Method, Key string }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("boto3 output %q: %v", out, err)
	}
	return got.Method, got.Key
}

// TestNetns_IPv4DefaultEndpoint: with 169.254.169.254 on the loopback of
// the test's own namespace and imdsemu listening there, the Go SDK and
// boto3 find credentials with no endpoint configured at all.
func TestNetns_IPv4DefaultEndpoint(t *testing.T) {
	ns := netns(t, "v4")
	// Inside the test's own network namespace only.
	ip(t, "-n", ns, "addr", "add", "169.254.169.254/32", "dev", "lo")         // the test namespace's own loopback, never the machine's
	startEmulatorIn(t, ns, "169.254.169.254:80", "--http-tokens", "required") // inside the test's own network namespace
	want := servedKeyIn(t, ns, "http://169.254.169.254/")                     // inside the test's own network namespace

	r := goSDKIn(t, ns)
	if r.Error != "" || r.Source != "EC2RoleProvider" || r.AccessKeyID != want {
		t.Errorf("Go SDK default chain = %+v, want EC2RoleProvider with %s", r, want)
	}
	if method, key := botoIn(t, ns); method != "iam-role" || key != want {
		t.Errorf("boto3 default chain = %q %q, want iam-role %s", method, key, want)
	}
}

// TestNetns_IPv6DefaultEndpoint: the same over IPv6 with
// AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6 and no endpoint override, so
// the SDKs use their built-in [fd00:ec2::254].
func TestNetns_IPv6DefaultEndpoint(t *testing.T) {
	ns := netns(t, "v6")
	// Inside the test's own network namespace only; nodad: usable at once.
	ip(t, "-n", ns, "addr", "add", "fd00:ec2::254/128", "dev", "lo", "nodad")                               // the test namespace's own loopback, never the machine's
	startEmulatorIn(t, ns, "127.0.0.1:0", "--http-tokens", "required", "--ipv6-addr", "[fd00:ec2::254]:80") // inside the test's own network namespace
	want := servedKeyIn(t, ns, "http://[fd00:ec2::254]/")                                                   // inside the test's own network namespace

	r := goSDKIn(t, ns, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6")
	if r.Error != "" || r.Source != "EC2RoleProvider" || r.AccessKeyID != want {
		t.Errorf("Go SDK default chain (IPv6 mode) = %+v, want EC2RoleProvider with %s", r, want)
	}
	if method, key := botoIn(t, ns, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=ipv6"); method != "iam-role" || key != want {
		t.Errorf("boto3 default chain (ipv6 mode) = %q %q, want iam-role %s", method, key, want)
	}
}

// TestNetns_HopLimitRoutedHop puts the client one routed hop from imdsemu:
//
//	client ns: c0 10.200.1.2 ── r0 10.200.1.1  router ns (forwarding)  r1 10.200.2.1 ── s0 10.200.2.2 :server ns
//
// With --hop-limit 1 the token PUT response dies at the router (its TTL
// reaches 0), so the PUT times out; with --hop-limit 2 it arrives. GETs,
// sent with the system's default TTL, work either way.
func TestNetns_HopLimitRoutedHop(t *testing.T) {
	client, router, server := netns(t, "hc"), netns(t, "hr"), netns(t, "hs")
	ip(t, "-n", client, "link", "add", "c0", "type", "veth", "peer", "name", "r0", "netns", router)
	ip(t, "-n", router, "link", "add", "r1", "type", "veth", "peer", "name", "s0", "netns", server)
	for _, a := range []struct{ ns, dev, addr string }{
		{client, "c0", "10.200.1.2/24"}, {router, "r0", "10.200.1.1/24"},
		{router, "r1", "10.200.2.1/24"}, {server, "s0", "10.200.2.2/24"},
	} {
		ip(t, "-n", a.ns, "addr", "add", a.addr, "dev", a.dev)
		ip(t, "-n", a.ns, "link", "set", a.dev, "up")
	}
	ip(t, "-n", client, "route", "add", "default", "via", "10.200.1.1")
	ip(t, "-n", server, "route", "add", "default", "via", "10.200.2.1")
	if out, err := exec.Command("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1").CombinedOutput(); err != nil {
		t.Fatalf("enabling forwarding in %s: %v: %s", router, err, out)
	}
	base := "http://10.200.2.2/"
	put := []string{"-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60", base + "latest/api/token"}

	for _, tc := range []struct {
		hopLimit string
		putOK    bool
	}{
		{"1", false},
		{"2", true},
	} {
		t.Run("hop-limit="+tc.hopLimit, func(t *testing.T) {
			e := startEmulatorIn(t, server, "10.200.2.2:80", "--hop-limit", tc.hopLimit)
			if code, out := curlIn(t, client, "-m", "5", base+"latest/meta-data/instance-id"); code != 0 || out != "i-0123456789abcdef0" {
				t.Errorf("GET across the router: curl exit %d %q, want the instance id", code, out)
			}
			code, _ := curlIn(t, client, append([]string{"-m", "3"}, put...)...)
			switch {
			case tc.putOK && code != 0:
				t.Errorf("token PUT with hop limit %s: curl exit %d, want a token", tc.hopLimit, code)
			case !tc.putOK && code != 28:
				t.Errorf("token PUT with hop limit %s: curl exit %d, want 28 (timed out: the response never arrives)", tc.hopLimit, code)
			}
			// The same PUT from inside the server's namespace (no router) works.
			if code, _ := curlIn(t, server, append([]string{"-m", "3"}, put...)...); code != 0 {
				t.Errorf("token PUT on the server's own network: curl exit %d", code)
			}
			if !tc.putOK {
				// What the SDKs do when the token never comes back, in
				// optional mode: both fall back to IMDSv1 and get credentials.
				want := servedKeyIn(t, server, base) // a token from the client would never arrive
				r := goSDKIn(t, client, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+base)
				if r.Error != "" || r.AccessKeyID != want {
					t.Errorf("Go SDK one hop away with hop limit 1 = %+v, want IMDSv1 fallback to %s", r, want)
				}
				t.Logf("Go SDK fell back to IMDSv1; Retrieve took %v", r.Took.Round(100*time.Millisecond))
				start := time.Now()
				if method, key := botoIn(t, client, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+base); method != "iam-role" || key != want {
					t.Errorf("boto3 one hop away with hop limit 1 = %q %q, want iam-role %s (IMDSv1 fallback)", method, key, want)
				}
				t.Logf("boto3 fell back to IMDSv1 (python %v in all)", time.Since(start).Round(100*time.Millisecond))
			}
			e.stop(t)
		})
	}
}
