package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The tests in this file attack the emulator the way a local process or a
// web page could; each is listed, with its size and result, in
// docs/reliability.md. All traffic is on loopback.

// hangGuard bounds a wait that must end by itself, so that a failure is a
// message rather than the test binary's timeout. It never decides a pass.
const hangGuard = 2 * time.Minute

// acceptWait is how long the flood test waits for an answer before taking
// it that the emulator has stopped accepting connections. It only decides
// when the flood stops reading answers, never a pass.
const acceptWait = 10 * time.Second

// fdLimit is the file-descriptor limit of the emulator in the flood test,
// the common default soft limit.
const fdLimit = 1024

// TestLimits_FileDescriptorFlood runs the emulator with 1,024 file
// descriptors and holds 1,200 connections to its metadata port, each of
// which sent one request and then stays idle (keep-alive). STS and admin
// must keep answering, and the metadata port must serve again once the
// connections are dropped. Without a per-listener cap the metadata
// listener takes every descriptor and all listeners stop accepting
// (accept4: too many open files).
func TestLimits_FileDescriptorFlood(t *testing.T) {
	prlimit := lookTool(t, "prlimit")
	dataDir := t.TempDir()
	cmd := exec.Command(prlimit, fmt.Sprintf("--nofile=%d:%d", fdLimit, fdLimit), "--", binary, "serve", "--data-dir", dataDir,
		"--metadata-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--sts-addr", "127.0.0.1:0")
	cmd.Env = cleanEnv(t)
	e := launch(t, cmd, dataDir, "") // prlimit execs imdsemu: the process is imdsemu
	if got := e.metric(t, `imdsemu_http_connections_limit{listener="metadata"}`); got <= 0 || got >= fdLimit/2 {
		t.Fatalf("metadata connection limit = %v, want a share of %d descriptors", got, fdLimit)
	}
	meta := strings.TrimPrefix(strings.TrimSuffix(e.endpoint, "/"), "http://")
	const flood = fdLimit + 176
	conns := make([]net.Conn, 0, flood)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// Each connection sends one request. Until the emulator stops
	// accepting (its cap, or before the fix its descriptors, runs out) each
	// answer is read, so that the connections are really held open and
	// idle on its side; the rest wait unanswered.
	d := net.Dialer{Timeout: hangGuard}
	answered := 0
	for i := range flood {
		c, err := d.Dial("tcp", meta)
		if err != nil {
			t.Fatalf("connection %d of %d to the metadata port: %v", i+1, flood, err)
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, "GET /latest/meta-data/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
			t.Fatalf("request on connection %d: %v", i+1, err)
		}
		if answered < i {
			continue // the emulator stopped accepting: queue the rest
		}
		c.SetReadDeadline(time.Now().Add(acceptWait))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			continue
		}
		resp.Body.Close()
		answered++
	}
	t.Logf("%d connections held, %d of them answered and idle", len(conns), answered)
	open := e.metric(t, `imdsemu_http_connections_open{listener="metadata"}`)
	limit := e.metric(t, `imdsemu_http_connections_limit{listener="metadata"}`)
	t.Logf("the emulator has %v connections open (limit %v)", open, limit)
	if open > limit {
		t.Errorf("metadata connections open = %v, over the limit %v", open, limit)
	}
	if n := e.metric(t, `imdsemu_http_connections_limit_reached_total{listener="metadata"}`); n < 1 {
		t.Errorf("limit reached = %v, want at least 1", n)
	}

	// A fresh client each time, so that nothing rides on a pooled connection.
	client := func() *http.Client {
		return &http.Client{Timeout: hangGuard, Transport: &http.Transport{DisableKeepAlives: true}}
	}
	resp, err := client().Get(e.admin + "/healthz")
	if err != nil {
		t.Fatalf("admin during the flood: %v\nstderr:\n%s", err, e.stderr)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("admin /healthz during the flood = %d, want 200", resp.StatusCode)
	}
	resp, err = client().Get(e.stsURL(t) + "/?Action=GetCallerIdentity&Version=2011-06-15")
	if err != nil {
		t.Fatalf("STS during the flood: %v\nstderr:\n%s", err, e.stderr)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden { // unsigned: MissingAuthenticationToken
		t.Errorf("unsigned STS request during the flood = %d, want 403", resp.StatusCode)
	}

	for _, c := range conns {
		c.Close()
	}
	conns = conns[:0]
	resp, err = client().Get(e.endpoint + "latest/meta-data/instance-id")
	if err != nil {
		t.Fatalf("metadata after the flood: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("metadata after the flood = %d, want 200", resp.StatusCode)
	}
	if strings.Contains(e.stderr.String(), "too many open files") {
		t.Errorf("the emulator ran out of file descriptors:\n%s", e.stderr)
	}
}

// TestHosts_DNSRebinding: a request whose Host is a name the listener does
// not answer to (what a browser sends after a page's name is rebound to
// 127.0.0.1) gets 403 on the metadata, ECS and admin listeners, and no
// credentials; addresses, localhost and HTTP/1.0 without Host are served.
func TestHosts_DNSRebinding(t *testing.T) {
	e := startEmulator(t, "--ecs-addr", "127.0.0.1:0")
	ecsURI, ecsToken := ecsEndpoint(t, e)
	meta := strings.TrimSuffix(e.endpoint, "/")
	get := func(t *testing.T, url, host string, hdr map[string]string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s (Host %s): %v", url, host, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	creds := meta + "/latest/meta-data/iam/security-credentials/imdsemu-demo"
	for _, tc := range []struct {
		name, url, host string
		hdr             map[string]string
		want            int
	}{
		{"metadata rebound", creds, "rebind.attacker.example", nil, 403},
		{"metadata rebound with port", creds, "rebind.attacker.example:1338", nil, 403},
		{"ECS rebound", ecsURI, "rebind.attacker.example", map[string]string{"Authorization": ecsToken}, 403},
		{"admin rebound", e.admin + "/v1/options", "rebind.attacker.example", map[string]string{"Authorization": "Bearer " + adminToken(t, e.dataDir)}, 403},
		{"metadata by address", creds, "", nil, 200},
		{"metadata by localhost", creds, "localhost", nil, 200},
		{"metadata by link-local address", creds, "169.254.169.254", nil, 200},
		{"ECS by address", ecsURI, "", map[string]string{"Authorization": ecsToken}, 200},
		{"admin by address", e.admin + "/v1/options", "", map[string]string{"Authorization": "Bearer " + adminToken(t, e.dataDir)}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, tc.url, tc.host, tc.hdr)
			if code != tc.want {
				t.Errorf("GET (Host %q) = %d, want %d: %s", tc.host, code, tc.want, redactSecrets(body))
			}
			if tc.want == 403 && strings.Contains(body, "SecretAccessKey") {
				t.Errorf("a refused request got credentials")
			}
		})
	}
	// HTTP/1.0 without Host, as EC2 answers it.
	c, err := net.Dial("tcp", strings.TrimPrefix(meta, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(hangGuard))
	io.WriteString(c, "GET /latest/meta-data/instance-id HTTP/1.0\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("HTTP/1.0 without Host = %v, %v; want 200", resp, err)
	}
	for _, l := range []string{"metadata", "ecs", "admin"} {
		if n := e.metric(t, `imdsemu_http_host_rejected_total{listener="`+l+`"}`); n < 1 {
			t.Errorf("imdsemu_http_host_rejected_total{listener=%q} = %v, want at least 1", l, n)
		}
	}
}

// TestNetns_WildcardExportLine: serving on 0.0.0.0 prints an endpoint a
// client can use (loopback), not http://[::]:PORT/. Inside a test network
// namespace, so that nothing listens on the machine's own interfaces.
func TestNetns_WildcardExportLine(t *testing.T) {
	ns := netns(t, "wildcard")
	e := startEmulatorIn(t, ns, "0.0.0.0:0", "--sts-addr", "0.0.0.0:0") // inside the test's own network namespace
	if !strings.HasPrefix(e.endpoint, "http://127.0.0.1:") {
		t.Fatalf("export AWS_EC2_METADATA_SERVICE_ENDPOINT=%s, want http://127.0.0.1:PORT/", e.endpoint)
	}
	if sts := e.stsURL(t); !strings.HasPrefix(sts, "http://127.0.0.1:") {
		t.Errorf("export AWS_ENDPOINT_URL_STS=%s, want http://127.0.0.1:PORT", sts)
	}
	if key := servedKeyIn(t, ns, e.endpoint); !strings.HasPrefix(key, "ASIA") {
		t.Errorf("credentials at the printed endpoint: key %q", key)
	}
}

// TestHosts_AllowedHostsAndMaxConnections: --allowed-hosts adds a name the
// listeners answer to (curl reaching loopback by that name gets the role's
// credentials over IMDSv2; another name still gets 403), and
// --max-connections is each listener's cap: with the metadata listener's
// connections all held, another connection is answered only once one of
// them closes.
func TestHosts_AllowedHostsAndMaxConnections(t *testing.T) {
	const maxConns = 4
	e := startEmulator(t, "--allowed-hosts", "imdsemu.test,Sidecar_1", "--max-connections", fmt.Sprint(maxConns))
	curl := lookTool(t, "curl")
	port := e.endpoint[strings.LastIndex(e.endpoint, ":")+1 : len(e.endpoint)-1]
	byName := func(t *testing.T, name string) (int, string) {
		t.Helper()
		base := "http://" + name + ":" + port
		resolve := name + ":" + port + ":127.0.0.1" // the name is the client's; the connection is loopback's
		cmd := exec.Command(curl, "-sS", "-m", "30", "--resolve", resolve, "-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60", "-w", "\n%{http_code}", base+"/latest/api/token")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("curl PUT token by %s: %v", name, err)
		}
		token, code, _ := strings.Cut(string(out), "\n")
		if code != "200" {
			return atoi(t, code), token
		}
		cmd = exec.Command(curl, "-sS", "-m", "30", "--resolve", resolve, "-H", "X-aws-ec2-metadata-token: "+token, "-w", "\n%{http_code}", base+"/latest/meta-data/iam/security-credentials/imdsemu-demo")
		if out, err = cmd.Output(); err != nil {
			t.Fatalf("curl GET credentials by %s: %v", name, err)
		}
		i := strings.LastIndex(string(out), "\n")
		return atoi(t, string(out[i+1:])), string(out[:i])
	}
	for _, tc := range []struct {
		name string
		want int
	}{{"imdsemu.test", 200}, {"IMDSEMU.test.", 200}, {"sidecar_1", 200}, {"rebind.attacker.example", 403}, {"test", 403}} {
		code, body := byName(t, tc.name)
		if code != tc.want || (code == 200) != strings.Contains(body, `"AccessKeyId" : "ASIA`) {
			t.Errorf("credentials by Host %s = %d, want %d: %s", tc.name, code, tc.want, redactSecrets(body))
		}
	}

	for _, l := range []string{"metadata", "admin", "sts"} {
		if n := e.metric(t, `imdsemu_http_connections_limit{listener="`+l+`"}`); n != maxConns {
			t.Errorf("imdsemu_http_connections_limit{listener=%q} = %v, want %d", l, n, maxConns)
		}
	}
	// Hold every connection the metadata listener may have, each kept
	// alive after one answered request.
	addr := strings.TrimSuffix(strings.TrimPrefix(e.endpoint, "http://"), "/")
	request := "GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: localhost\r\n\r\n"
	var held []net.Conn
	for range maxConns {
		c := dialHeld(t, addr)
		if resp := rawRequest(t, c, request); resp.StatusCode != 200 {
			t.Fatalf("held connection: %d", resp.StatusCode)
		}
		held = append(held, c)
	}
	extra := dialHeld(t, addr) // the kernel completes the handshake; imdsemu does not accept it yet
	if _, err := io.WriteString(extra, request); err != nil {
		t.Fatal(err)
	}
	answered := make(chan *http.Response, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(extra), nil)
		if err != nil {
			resp = nil
		}
		answered <- resp
	}()
	select {
	case resp := <-answered:
		t.Fatalf("a connection past --max-connections %d was answered while the others were held: %v", maxConns, resp)
	case <-time.After(time.Second): // not a pass condition: the answer below is
	}
	held[0].Close()
	if resp := <-answered; resp == nil || resp.StatusCode != 200 {
		t.Fatalf("after one held connection closed, the waiting one got %v; want 200", resp)
	}
	if n := e.metric(t, `imdsemu_http_connections_limit_reached_total{listener="metadata"}`); n < 1 {
		t.Errorf("imdsemu_http_connections_limit_reached_total{listener=\"metadata\"} = %v, want at least 1", n)
	}
}

// dialHeld connects to addr; the connection closes when the test ends and
// every read or write on it gives up after hangGuard.
func dialHeld(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(hangGuard))
	return c
}

// rawRequest writes req on c and reads one answer (its body drained).
func rawRequest(t *testing.T, c net.Conn, req string) *http.Response {
	t.Helper()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}
