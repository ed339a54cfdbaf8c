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
