package fault

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// rebindRetry is how long Accept waits before trying again to bind the
// address after an outage when the first attempt fails.
const rebindRetry = 50 * time.Millisecond

// Listener wraps the metadata listener for ActionRefuse. During an outage
// (a refuse rule without a client) the listening socket is closed, so new
// connections are refused by the kernel (ECONNREFUSED), and the open
// connections are closed, as if the server had died; when the last outage
// ends, Accept binds the same address again. A refuse rule with a client
// accepts matching connections and resets them at once (RST).
//
// Create it with Injector.Listener and set the server's ConnState to
// Listener.ConnState, which forgets each connection when the server is done
// with it (the connections are not wrapped, so their reads and writes cost
// nothing more). Accept may be called from one goroutine (http.Server's);
// the other methods from any.
type Listener struct {
	in      *Injector
	network string
	addr    net.Addr

	mu      sync.Mutex
	ln      net.Listener          // nil during an outage
	conns   map[net.Conn]struct{} // accepted and not yet closed by the server (or taken over and not yet closed)
	closed  bool
	closing chan struct{}
}

var _ net.Listener = (*Listener)(nil)

// Listener wraps ln. ln must be bound to a fixed address (not port 0 any
// more, which a bound listener never is) so that it can be bound again.
func (in *Injector) Listener(ln net.Listener) *Listener {
	l := &Listener{
		in:      in,
		network: ln.Addr().Network(),
		addr:    ln.Addr(),
		ln:      ln,
		conns:   map[net.Conn]struct{}{},
		closing: make(chan struct{}),
	}
	in.mu.Lock()
	in.listeners[l] = struct{}{}
	in.mu.Unlock()
	if _, active := in.outage(); active {
		l.goDown()
	}
	return l
}

// Addr returns the address the listener is (or will again be) bound to.
func (l *Listener) Addr() net.Addr { return l.addr }

// Accept waits for the next connection; during an outage it waits for the
// outage to end.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil, net.ErrClosed
		}
		ln := l.ln
		l.mu.Unlock()
		if ln == nil {
			if err := l.waitUp(); err != nil {
				return nil, err
			}
			continue
		}
		c, err := ln.Accept()
		if err != nil {
			l.mu.Lock()
			closed, replaced := l.closed, l.ln != ln
			l.mu.Unlock()
			if closed {
				return nil, net.ErrClosed
			}
			if replaced {
				continue // an outage closed it
			}
			return nil, err
		}
		if l.in.refuseClient(c) {
			continue
		}
		l.mu.Lock()
		if l.ln != ln {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.conns[c] = struct{}{}
		l.mu.Unlock()
		return c, nil
	}
}

// Close closes the listener for good.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.closing)
	ln := l.ln
	l.ln = nil
	l.mu.Unlock()
	l.in.mu.Lock()
	delete(l.in.listeners, l)
	l.in.mu.Unlock()
	if ln != nil {
		return ln.Close()
	}
	return nil
}

// goDown starts an outage: the socket and every open connection close.
func (l *Listener) goDown() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.ln == nil {
		return
	}
	_ = l.ln.Close()
	l.ln = nil
	for c := range l.conns {
		_ = c.Close()
	}
	// The server forgets them as they close; connections taken over
	// (blackhole) are forgotten here.
	clear(l.conns)
}

// ConnState is the server's http.Server.ConnState hook: a connection the
// server has closed is forgotten. One a handler took over (the blackhole)
// stays until the injector closes it (Injector.forget), so that an outage
// still closes it.
func (l *Listener) ConnState(c net.Conn, s http.ConnState) {
	if s == http.StateClosed {
		l.forget(c)
	}
}

func (l *Listener) forget(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// waitUp waits until no outage is active, then binds the address again.
func (l *Listener) waitUp() error {
	for {
		changed, _ := l.in.changes()
		next, active := l.in.outage()
		if !active {
			err := l.rebind()
			if err == nil || errors.Is(err, net.ErrClosed) {
				return err
			}
			next = l.in.now().Add(rebindRetry)
		}
		var (
			t     *time.Timer
			timer <-chan time.Time
		)
		if !next.IsZero() {
			t = time.NewTimer(max(next.Sub(l.in.now()), 0))
			timer = t.C
		}
		select {
		case <-changed:
		case <-timer:
		case <-l.closing:
			if t != nil {
				t.Stop()
			}
			return net.ErrClosed
		}
		if t != nil {
			t.Stop()
		}
	}
}

func (l *Listener) rebind() error {
	ln, err := net.Listen(l.network, l.addr.String())
	if err != nil {
		return err
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	l.ln = ln
	l.mu.Unlock()
	// An outage may have started while the address was being bound.
	if _, active := l.in.outage(); active {
		l.goDown()
	}
	return nil
}

// refuseClient resets c if a refuse rule with a client matches it.
func (in *Injector) refuseClient(c net.Conn) bool {
	rules := in.rules.Load()
	if rules == nil {
		return false
	}
	var client netip.Addr
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		client = ap.Addr().Unmap()
	}
	now := in.now()
	for _, r := range *rules {
		if r.Action != ActionRefuse || !r.hasCl || r.ended.Load() || !client.IsValid() || !r.client.Contains(client) {
			continue
		}
		if r.expired(now) {
			in.retire(r, "time up")
			continue
		}
		r.matched.Add(1)
		r.fired.Add(1)
		in.fire(r, Fired{Client: client.String(), At: now})
		resetConn(c)
		return true
	}
	return false
}
