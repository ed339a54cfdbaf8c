package fault

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
)

func TestListener_RefuseClosesAndRebinds(t *testing.T) {
	in := newInjector(t, Options{})
	ln, _ := startServer(t, in, &backend{})
	addr := ln.Addr().String()

	// A keep-alive connection open before the outage.
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	get := func() error {
		resp, err := client.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}

	st := mustAdd(t, in, Rule{Action: ActionRefuse})
	if _, err := net.Dial("tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial during the outage = %v, want ECONNREFUSED", err)
	}
	if err := get(); err == nil {
		t.Errorf("GET on the old keep-alive connection during the outage succeeded; want it closed")
	}
	if err := in.Remove(st.ID); err != nil {
		t.Fatal(err)
	}
	// Accept binds the same address again; wait for it.
	waitFor(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if err := get(); err != nil {
		t.Errorf("GET after the outage = %v", err)
	}
}

func TestListener_RefuseAtStart(t *testing.T) {
	in := newInjector(t, Options{})
	mustAdd(t, in, Rule{Action: ActionRefuse})
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := in.Listener(raw)
	defer ln.Close()
	if _, err := net.Dial("tcp", ln.Addr().String()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial = %v, want ECONNREFUSED: the outage was active when the listener was wrapped", err)
	}
}

func TestListener_RefuseClientResets(t *testing.T) {
	var (
		mu    sync.Mutex
		fired []Fired
	)
	in := newInjector(t, Options{OnFire: func(f Fired) {
		mu.Lock()
		fired = append(fired, f)
		mu.Unlock()
	}})
	ln, _ := startServer(t, in, &backend{})
	mustAdd(t, in, Rule{Action: ActionRefuse, Client: "127.0.0.0/8"})
	// The reset may reach the client while it connects or when it reads.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err == nil {
		defer c.Close()
		_, err = c.Read(make([]byte, 1))
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("dial or read = %v, want ECONNRESET", err)
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(fired) == 1 })
	mu.Lock()
	defer mu.Unlock()
	if len(fired) != 1 || fired[0].Client != "127.0.0.1" {
		t.Errorf("fired = %+v, want one firing for 127.0.0.1", fired)
	}
}

func TestListener_CloseDuringOutage(t *testing.T) {
	in := newInjector(t, Options{})
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := in.Listener(raw)
	mustAdd(t, in, Rule{Action: ActionRefuse})
	done := make(chan error)
	go func() {
		_, err := ln.Accept()
		done <- err
	}()
	ln.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
	}
}

// tracked is how many connections l would close in an outage.
func (l *Listener) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// TestListener_ForgetsConnections: connections the server closed, and one
// the blackhole took over and closed, are no longer tracked.
func TestListener_ForgetsConnections(t *testing.T) {
	in := newInjector(t, Options{})
	ln, _ := startServer(t, in, &backend{})
	addr := ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for range 3 {
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	waitFor(t, func() bool { return ln.tracked() == 0 })

	mustAdd(t, in, Rule{Action: ActionBlackhole, Times: 1})
	_, c := rawGET(t, addr, "/")
	waitFor(t, func() bool { in.mu.Lock(); defer in.mu.Unlock(); return len(in.held) == 1 })
	if n := ln.tracked(); n != 1 {
		t.Errorf("tracked while blackholed = %d, want 1 (an outage must close it)", n)
	}
	c.Close()
	waitFor(t, func() bool { return ln.tracked() == 0 })
}

// TestListener_OutageClosesBlackholed: a connection the blackhole holds is
// closed by an outage, as the server's own are.
func TestListener_OutageClosesBlackholed(t *testing.T) {
	in := newInjector(t, Options{})
	ln, _ := startServer(t, in, &backend{})
	mustAdd(t, in, Rule{Action: ActionBlackhole})
	br, _ := rawGET(t, ln.Addr().String(), "/")
	waitFor(t, func() bool { in.mu.Lock(); defer in.mu.Unlock(); return len(in.held) == 1 })
	mustAdd(t, in, Rule{Action: ActionRefuse})
	if b, err := br.ReadByte(); err == nil {
		t.Errorf("read = %q; want the connection closed by the outage", b)
	}
	waitFor(t, func() bool { return ln.tracked() == 0 })
}
