package httpserve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// hangGuard bounds a read that must end by itself (the server closing the
// connection or answering), so that a failure is a message, not the test
// binary's 10-minute timeout. It never decides a pass.
const hangGuard = time.Minute

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })

// serve runs srv on a loopback listener (wrapped by wrap when not nil)
// until the test ends.
func serve(t *testing.T, srv *http.Server, wrap func(net.Listener) net.Listener) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
	})
	return addr
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(hangGuard))
	return c
}

// raw sends req on c and reads the answer.
func raw(t *testing.T, c net.Conn, req string) *http.Response {
	t.Helper()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to %q: %v", strings.SplitN(req, "\r\n", 2)[0], err)
	}
	resp.Body.Close()
	return resp
}

func TestNew_DefaultTimeouts(t *testing.T) {
	srv := New(Options{Handler: ok})
	got := Timeouts{srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout}
	want := Timeouts{DefaultReadHeaderTimeout, DefaultReadTimeout, DefaultWriteTimeout, DefaultIdleTimeout}
	if got != want {
		t.Errorf("New(zero Timeouts) timeouts = %+v, want %+v", got, want)
	}
	for _, d := range []time.Duration{got.ReadHeader, got.Read, got.Write, got.Idle} {
		if d <= 0 {
			t.Errorf("a timeout is unset: %+v", got)
		}
	}
}

// TestNew_ClosesSlowAndIdleConnections: a connection that sends nothing,
// one that drips its body (to a handler that reads it and to one that does
// not, whose body net/http reads after it), and an idle keep-alive
// connection are closed by the server, with the read deadline set by the
// server or, with BodyDeadline, by the handler. (Short timeouts; the test
// waits for the server to act.)
func TestNew_ClosesSlowAndIdleConnections(t *testing.T) {
	short := Timeouts{ReadHeader: 50 * time.Millisecond, Read: 100 * time.Millisecond, Write: time.Second, Idle: 100 * time.Millisecond}
	for _, bodyDeadline := range []bool{false, true} {
		t.Run(fmt.Sprintf("BodyDeadline=%v", bodyDeadline), func(t *testing.T) {
			srv := New(Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/unread" {
					if _, err := io.ReadAll(r.Body); err != nil {
						return
					}
				}
				io.WriteString(w, "ok\n")
			}), Timeouts: short, BodyDeadline: bodyDeadline, Hosts: NewHosts()})
			if bodyDeadline && srv.ReadTimeout != 0 {
				t.Errorf("ReadTimeout = %v with BodyDeadline, want 0 (the handler sets it)", srv.ReadTimeout)
			}
			addr := serve(t, srv, nil)
			closedByServer := func(t *testing.T, c net.Conn) {
				t.Helper()
				if _, err := io.ReadAll(c); err != nil {
					t.Errorf("the server did not close the connection: %v", err)
				}
			}
			t.Run("Silent", func(t *testing.T) {
				closedByServer(t, dial(t, addr))
			})
			for _, path := range []string{"/", "/unread"} {
				t.Run("DrippedBody"+path, func(t *testing.T) {
					c := dial(t, addr)
					io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nx")
					closedByServer(t, c)
				})
				t.Run("DrippedChunkedBody"+path, func(t *testing.T) {
					c := dial(t, addr)
					io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n")
					closedByServer(t, c)
				})
			}
			t.Run("IdleKeepAlive", func(t *testing.T) {
				c := dial(t, addr)
				if r := raw(t, c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"); r.StatusCode != 200 || r.Close {
					t.Fatalf("GET = %d (close %v), want 200 kept alive", r.StatusCode, r.Close)
				}
				closedByServer(t, c)
			})
		})
	}
}

func TestCapConns(t *testing.T) {
	for _, tc := range []struct {
		nofile uint64
		want   int
	}{{0, minConns}, {256, 32}, {1024, 224}, {65536, maxConns}, {1 << 40, maxConns}} {
		if got := capConns(tc.nofile); got != tc.want {
			t.Errorf("capConns(%d) = %d, want %d", tc.nofile, got, tc.want)
		}
	}
	if n := DefaultMaxConns(); n < minConns || n > maxConns {
		t.Errorf("DefaultMaxConns() = %d, want %d..%d", n, minConns, maxConns)
	}
}

// TestLimit: a listener capped at 2 holds two connections; a third is
// answered only once one of them closes, and the metrics say so.
func TestLimit(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	srv := New(Options{Handler: ok})
	addr := serve(t, srv, func(ln net.Listener) net.Listener { return Limit(srv, ln, "metadata", 2, m) })
	open := m.open.WithLabelValues("metadata")
	a, b := dial(t, addr), dial(t, addr)
	waitGauge(t, open, 2)
	if got := testutil.ToFloat64(m.limit.WithLabelValues("metadata")); got != 2 {
		t.Errorf("limit = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.atLimit.WithLabelValues("metadata")); got != 1 {
		t.Errorf("limit reached = %v, want 1", got)
	}
	third := dial(t, addr)
	if _, err := io.WriteString(third, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	a.Close()
	resp, err := http.ReadResponse(bufio.NewReader(third), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("third connection after the first closed: %v %v", resp, err)
	}
	resp.Body.Close()
	if got := testutil.ToFloat64(open); got != 2 {
		t.Errorf("open = %v, want 2", got)
	}
	b.Close()
	third.Close()
	waitGauge(t, open, 0)
}

// TestLimit_Hijacked: a connection a handler takes over gives its place
// back once, and a ConnState hook set before Limit still runs.
func TestLimit_Hijacked(t *testing.T) {
	m := NewMetrics(nil)
	var news atomic.Int32
	srv := New(Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
		bw.Flush()
		c.Close()
	})})
	srv.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			news.Add(1)
		}
	}
	addr := serve(t, srv, func(ln net.Listener) net.Listener { return Limit(srv, ln, "metadata", 1, m) })
	open := m.open.WithLabelValues("metadata")
	for i := range 3 { // with a cap of 1, each is served only if the one before gave its place back
		if r := raw(t, dial(t, addr), "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"); r.StatusCode != 200 {
			t.Fatalf("connection %d: GET = %d, want 200", i, r.StatusCode)
		}
	}
	waitGauge(t, open, 0)
	if n := news.Load(); n != 3 {
		t.Errorf("the earlier ConnState hook saw %d new connections, want 3", n)
	}
}

// waitGauge waits, within hangGuard, for g to read want.
func waitGauge(t *testing.T, g prometheus.Gauge, want float64) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for testutil.ToFloat64(g) != want {
		if time.Now().After(deadline) {
			t.Fatalf("gauge = %v after %v, want %v", testutil.ToFloat64(g), hangGuard, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestHosts_Allowed(t *testing.T) {
	h := NewHosts("imdsemu.internal:1338", "Sidecar", "127.0.0.1:1338", "")
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"", true},
		{"localhost", true},
		{"LocalHost:1338", true},
		{"localhost.", true},
		{"127.0.0.1", true},
		{"127.0.0.1:1338", true},
		{"169.254.169.254", true},
		{"169.254.169.254:80", true},
		{"[fd00:ec2::254]", true},
		{"[fd00:ec2::254]:80", true},
		{"[::1]:1338", true},
		{"10.1.2.3:8080", true},
		{"imdsemu.internal", true},
		{"IMDSEMU.internal:1338", true},
		{"sidecar", true},
		{"rebind.attacker.example", false},
		{"rebind.attacker.example:1338", false},
		{"localhost.attacker.example", false},
		{"127.0.0.1.nip.io", false},
		{"0x7f000001", false},
		{"sidecar.attacker.example", false},
	} {
		if got := h.Allowed(tc.host); got != tc.want {
			t.Errorf("Allowed(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}

// TestHosts_Handler: a rebound name gets 403 and is counted; an IP,
// localhost and an HTTP/1.0 request without Host are served. Over the
// wire, since net/http itself decides what a missing Host means.
func TestHosts_Handler(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	addr := serve(t, New(Options{Listener: "metadata", Handler: ok, Hosts: NewHosts(), Metrics: m}), nil)
	for _, tc := range []struct {
		req  string
		want int
	}{
		{"GET / HTTP/1.1\r\nHost: rebind.attacker.example\r\n\r\n", 403},
		{"GET / HTTP/1.1\r\nHost: rebind.attacker.example:1338\r\n\r\n", 403},
		{"GET / HTTP/1.1\r\nHost: " + strings.Repeat("a", 5000) + "\r\n\r\n", 403},
		{"GET / HTTP/1.1\r\nHost: " + addr + "\r\n\r\n", 200},
		{"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", 200},
		{"GET / HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n", 200},
		{"GET / HTTP/1.0\r\n\r\n", 200},
		{"GET / HTTP/1.1\r\n\r\n", 400}, // net/http: HTTP/1.1 requires Host
	} {
		resp := raw(t, dial(t, addr), tc.req)
		if resp.StatusCode != tc.want {
			t.Errorf("%.60q = %d, want %d", tc.req, resp.StatusCode, tc.want)
		}
	}
	if got := testutil.ToFloat64(m.hostRejected.WithLabelValues("metadata")); got != 3 {
		t.Errorf("imdsemu_http_host_rejected_total = %v, want 3", got)
	}
}

func TestDialAddr(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 1338}, "127.0.0.1:1338"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 1338}, "127.0.0.1:1338"},
		{&net.TCPAddr{Port: 1338}, "127.0.0.1:1338"},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1338}, "127.0.0.1:1338"},
		{&net.TCPAddr{IP: net.ParseIP("fd00:ec2::254"), Port: 80}, "[fd00:ec2::254]:80"},
		{&net.TCPAddr{IP: net.IPv4(169, 254, 169, 254), Port: 80}, "169.254.169.254:80"},
	} {
		if got := DialAddr(tc.addr); got != tc.want {
			t.Errorf("DialAddr(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// deadlineCounter counts the deadlines set on its connections: to a time
// to come (which arms or moves a runtime timer), to zero, and to a time long
// past (net/http's way to end its background read, which arms nothing and
// happens only when that read has started).
type deadlineCounter struct {
	net.Listener
	armed, cleared, past atomic.Int64
}

func (l *deadlineCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

type countingConn struct {
	net.Conn
	l *deadlineCounter
}

func (c *countingConn) count(t time.Time) {
	switch {
	case t.IsZero():
		c.l.cleared.Add(1)
	case t.Before(time.Now()):
		c.l.past.Add(1)
	default:
		c.l.armed.Add(1)
	}
}

func (c *countingConn) SetReadDeadline(t time.Time) error {
	c.count(t)
	return c.Conn.SetReadDeadline(t)
}
func (c *countingConn) SetWriteDeadline(t time.Time) error {
	c.count(t)
	return c.Conn.SetWriteDeadline(t)
}

// TestNew_BodyDeadlineSavesADeadline: with BodyDeadline, a keep-alive GET
// without a body arms one deadline less than with the server's ReadTimeout.
// The counts are read once the server has closed the connection, so that
// no deadline of the last request is still to come.
func TestNew_BodyDeadlineSavesADeadline(t *testing.T) {
	const n = 20
	armed := map[bool]int64{}
	for _, bodyDeadline := range []bool{false, true} {
		srv := New(Options{Handler: ok, BodyDeadline: bodyDeadline, Hosts: NewHosts()})
		closed := make(chan struct{})
		srv.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateClosed {
				close(closed)
			}
		}
		var dc *deadlineCounter
		addr := serve(t, srv, func(ln net.Listener) net.Listener { dc = &deadlineCounter{Listener: ln}; return dc })
		c := dial(t, addr)
		for range n {
			raw(t, c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
		}
		c.Close()
		<-closed
		armed[bodyDeadline] = dc.armed.Load()
		t.Logf("BodyDeadline=%v: %d keep-alive GETs on one connection, %d deadlines armed, %d cleared", bodyDeadline,
			n, armed[bodyDeadline], dc.cleared.Load())
	}
	if armed[true] != armed[false]-n {
		t.Errorf("deadlines armed for %d GETs: %d with BodyDeadline, %d without; want one a request fewer", n, armed[true], armed[false])
	}
}
