package httpserve

import (
	"net"
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
// is 0 or less). Past the cap, Accept waits for a connection to close, so
// new ones queue in the kernel and use no file descriptor of this process.
// m may be nil.
func Limit(ln net.Listener, listener string, max int, m *Metrics) net.Listener {
	if max <= 0 {
		max = DefaultMaxConns()
	}
	c := &countingListener{Listener: ln, max: max, sem: make(chan struct{}, max)}
	if m != nil {
		c.open = m.open.WithLabelValues(listener)
		c.reached = m.atLimit.WithLabelValues(listener)
		m.limit.WithLabelValues(listener).Set(float64(max))
	}
	return c
}

type gauge interface {
	Inc()
	Dec()
}

type counter interface{ Inc() }

// countingListener holds at most max connections open and counts them. Its
// connections forward NetConn and SetLinger, so the hop limit (imds) and a
// reset (fault) still reach the socket; netutil.LimitListener's wrapper hid
// both.
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
	return &countedConn{Conn: c, l: l}, nil
}

func (l *countingListener) closed() {
	<-l.sem
	l.mu.Lock()
	l.n--
	l.mu.Unlock()
	if l.open != nil {
		l.open.Dec()
	}
}

type countedConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

// NetConn returns the wrapped connection.
func (c *countedConn) NetConn() net.Conn { return c.Conn }

// SetLinger sets SO_LINGER when the wrapped connection is TCP.
func (c *countedConn) SetLinger(sec int) error {
	if l, ok := c.Conn.(interface{ SetLinger(int) error }); ok {
		return l.SetLinger(sec)
	}
	return nil
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.l.closed)
	return err
}
