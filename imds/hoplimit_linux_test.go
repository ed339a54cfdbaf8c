package imds_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"syscall"
	"testing"

	"github.com/imdsemu/imdsemu/imds"
)

type testConnKey struct{}

// ttlProbe wraps a Server and reads the unicast TTL (IPv4) or hop limit
// (IPv6) of each request's socket before and after the server handles it,
// while the connection is still open.
type ttlProbe struct {
	srv *imds.Server
	v6  bool

	mu   sync.Mutex
	seen map[string][2]int // "METHOD path" -> before, after
}

func (p *ttlProbe) connContext(ctx context.Context, c net.Conn) context.Context {
	return p.srv.ConnContext(context.WithValue(ctx, testConnKey{}, c), c)
}

func (p *ttlProbe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := r.Context().Value(testConnKey{}).(*net.TCPConn)
	before := p.read(c)
	p.srv.ServeHTTP(w, r)
	after := p.read(c)
	p.mu.Lock()
	p.seen[r.Method+" "+r.URL.Path] = [2]int{before, after}
	p.mu.Unlock()
}

// read is getsockopt(IP_TTL) or getsockopt(IPV6_UNICAST_HOPS) on c.
func (p *ttlProbe) read(c *net.TCPConn) int {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1
	}
	v := -1
	_ = raw.Control(func(fd uintptr) {
		if p.v6 {
			v, err = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_UNICAST_HOPS)
		} else {
			v, err = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_TTL)
		}
	})
	if err != nil {
		return -1
	}
	return v
}

// TestHopLimit_SocketOption reads back, on the server's own socket, the
// TTL (hop limit) the token PUT response is written with, and checks that
// the connection is closed after it while GETs keep the system default.
func TestHopLimit_SocketOption(t *testing.T) {
	for _, tc := range []struct {
		name, addr string
		v6         bool
	}{
		{"ipv4", "127.0.0.1:0", false},
		{"ipv6", "[::1]:0", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", tc.addr)
			if err != nil {
				if os.Getenv("CI") != "" { // CI runs every test: a missing IPv6 loopback is a failure there
					t.Fatalf("cannot listen on %s under CI: %v", tc.addr, err)
				}
				t.Skipf("cannot listen on %s: %v", tc.addr, err)
			}
			f := newFixture(t, nil)
			p := &ttlProbe{srv: f.srv, v6: tc.v6, seen: map[string][2]int{}}
			ts := httptest.NewUnstartedServer(p)
			ts.Listener.Close()
			ts.Listener = ln
			ts.Config.ConnContext = p.connContext
			ts.Start()
			defer ts.Close()
			client := ts.Client()
			defer client.CloseIdleConnections()

			do := func(method, path string, h ...string) *http.Response {
				t.Helper()
				req, _ := http.NewRequest(method, ts.URL+path, nil)
				for i := 0; i+1 < len(h); i += 2 {
					req.Header.Set(h[i], h[i+1])
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, path, err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp
			}
			for _, n := range []int{1, 2, 17, 64} {
				if err := f.srv.SetHopLimit(n); err != nil {
					t.Fatal(err)
				}
				resp := do("PUT", "/latest/api/token", hdrTTL, "60")
				if resp.StatusCode != 200 || !resp.Close {
					t.Errorf("hop limit %d: PUT = %d, Close=%t; want 200 and the connection closed", n, resp.StatusCode, resp.Close)
				}
				get := do("GET", "/latest/meta-data/instance-id")
				p.mu.Lock()
				put, g := p.seen["PUT /latest/api/token"], p.seen["GET /latest/meta-data/instance-id"]
				p.mu.Unlock()
				if put[1] != n {
					t.Errorf("hop limit %d: PUT response socket TTL = %d, want %d", n, put[1], n)
				}
				if g[0] != g[1] || g[1] == n && n != 64 || g[1] < 1 {
					t.Errorf("hop limit %d: GET socket TTL before/after = %v, want the unchanged system default", n, g)
				}
				if get.Close {
					t.Errorf("hop limit %d: GET closed the connection", n)
				}
			}
		})
	}
}
