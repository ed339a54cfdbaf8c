package httpserve

import (
	"net"
	"net/http"
	"sync"
	"syscall"
)

// Bounds of the default connection cap.
const (
	minConns = 16
	maxConns = 4096
	// fdReserve is kept for everything but connections: the database, its
	// WAL, key files, the listeners themselves, DNS, logs.
	fdReserve = 128
	// listenersShare: each listener may hold a quarter of the rest.
	listenersShare = 4
)

// DefaultMaxConns is the connection cap of one listener: a quarter of the
// process's file-descriptor limit (RLIMIT_NOFILE, soft) less a reserve, from
// 16 to 4096. With the common limit of 1,024 it is 224.
func DefaultMaxConns() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 256
	}
	return capConns(rl.Cur)
}

func capConns(nofile uint64) int {
	if nofile > 1<<20 {
		nofile = 1 << 20
	}
	n := (int(nofile) - fdReserve) / listenersShare
	return min(max(n, minConns), maxConns)
}

// Limit caps the connections ln holds open at max (DefaultMaxConns when max
// is 0 or less) for srv, which must serve ln. Past the cap, Accept waits for
// a connection to close, so new ones queue in the kernel and use no file
// descriptor of this process. A connection's place is given back when srv
// is done with it: Limit chains a hook to srv.ConnState (set any other hook
// first), so that the connections themselves are not wrapped and their
// reads, writes and deadlines cost nothing more. A connection a handler
// takes over (Hijack) leaves the count then. m may be nil.
func Limit(srv *http.Server, ln net.Listener, listener string, max int, m *Metrics) net.Listener {
	if max <= 0 {
		max = DefaultMaxConns()
	}
	c := &countingListener{Listener: ln, max: max, sem: make(chan struct{}, max)}
	if m != nil {
		c.open = m.open.WithLabelValues(listener)
		c.reached = m.atLimit.WithLabelValues(listener)
		m.limit.WithLabelValues(listener).Set(float64(max))
	}
	prev := srv.ConnState
	srv.ConnState = func(nc net.Conn, s http.ConnState) {
		if prev != nil {
			prev(nc, s)
		}
		if s == http.StateClosed || s == http.StateHijacked { // each connection ends in one of them, once
			c.closed()
		}
	}
	return c
}

type gauge interface {
	Inc()
	Dec()
}

type counter interface{ Inc() }

// countingListener holds at most max connections open and counts them.
// Its server's ConnState hook (see Limit) calls closed once for every
// connection Accept returned.
type countingListener struct {
	net.Listener
	max     int
	sem     chan struct{}
	open    gauge
	reached counter

	mu sync.Mutex
	n  int
}

func (l *countingListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{} // past the cap, wait here: new connections queue in the kernel
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	l.mu.Lock()
	l.n++
	full := l.n == l.max
	l.mu.Unlock()
	if l.open != nil {
		l.open.Inc()
		if full {
			l.reached.Inc()
		}
	}
	return c, nil
}

// closed counts a connection out, then gives its place back: in the other
// order, Accept could count the next connection in before this one is
// counted out, and the gauge would read one over the cap.
func (l *countingListener) closed() {
	l.mu.Lock()
	l.n--
	l.mu.Unlock()
	if l.open != nil {
		l.open.Dec()
	}
	<-l.sem
}
