package fault

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
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
// Create it with Injector.Listener. Accept may be called from one goroutine
// (http.Server's); the other methods from any.
type Listener struct {
	in      *Injector
	network string
	addr    net.Addr

	mu      sync.Mutex
	ln      net.Listener // nil during an outage
	conns   map[*trackedConn]struct{}
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
		conns:   map[*trackedConn]struct{}{},
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
		tc := &trackedConn{Conn: c, l: l}
		l.mu.Lock()
		if l.ln != ln {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.conns[tc] = struct{}{}
		l.mu.Unlock()
		return tc, nil
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
		_ = c.Conn.Close()
	}
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

// trackedConn is an accepted connection the listener can close when an
// outage starts. It forwards SyscallConn and SetLinger, so that
// golang.org/x/net/ipv4.NewConn and a TCP reset still work through it.
type trackedConn struct {
	net.Conn
	l    *Listener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// NetConn returns the wrapped connection.
func (c *trackedConn) NetConn() net.Conn { return c.Conn }

// SyscallConn returns the raw connection of a TCP (or other syscall) connection.
func (c *trackedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("fault: connection has no file descriptor")
}

// SetLinger sets SO_LINGER on a TCP connection.
func (c *trackedConn) SetLinger(sec int) error {
	if l, ok := c.Conn.(interface{ SetLinger(int) error }); ok {
		return l.SetLinger(sec)
	}
	return errors.New("fault: connection is not TCP")
}
