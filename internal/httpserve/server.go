package httpserve

import (
	"context"
	"log"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Timeouts are an http.Server's timeouts. A zero field takes its default.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers, from the connection's
	// first byte (or the end of the previous request). Default 5s.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included. Default 30s.
	Read time.Duration
	// Write bounds the time from the end of the request's headers to the
	// end of the answer. Default 60s.
	Write time.Duration
	// Idle bounds how long a keep-alive connection waits for its next
	// request. Default 60s.
	Idle time.Duration
}

// Default timeouts.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
)

func (t Timeouts) withDefaults() Timeouts {
	set := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&t.ReadHeader, DefaultReadHeaderTimeout)
	set(&t.Read, DefaultReadTimeout)
	set(&t.Write, DefaultWriteTimeout)
	set(&t.Idle, DefaultIdleTimeout)
	return t
}

// Options configures New. Handler is required.
type Options struct {
	// Listener names the listener in metrics ("metadata", "ecs", "sts",
	// "admin").
	Listener string
	Handler  http.Handler
	// Hosts, when set, serves only requests whose Host it allows.
	Hosts *Hosts
	// Timeouts; zero fields take the defaults.
	Timeouts    Timeouts
	ConnContext func(ctx context.Context, c net.Conn) context.Context
	// BodyDeadline is for a listener whose requests seldom carry a body
	// (the metadata service's): the server's ReadTimeout is left unset and
	// the handler sets the read deadline itself, Timeouts.Read from the
	// end of the headers, on a request that has one. A request without a
	// body, whose read deadline net/http clears as soon as its headers are
	// read, then costs one deadline change less.
	BodyDeadline bool
	ErrorLog     *log.Logger
	// Metrics counts refused Host headers; nil counts nothing.
	Metrics *Metrics
}

// New returns an http.Server for one listener, with every timeout set and,
// when o.Hosts is set, the Host allowlist in front of o.Handler.
func New(o Options) *http.Server {
	t := o.Timeouts.withDefaults()
	h, read := o.Handler, t.Read
	if o.BodyDeadline {
		read = 0
	}
	if o.Hosts != nil || o.BodyDeadline {
		h = front(o.Hosts, o.Listener, h, o.Metrics, t.Read-read)
	}
	return &http.Server{
		Handler:           h,
		ConnContext:       o.ConnContext,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		ErrorLog:          o.ErrorLog,
	}
}

// DialAddr is addr as a client can dial it. A listener on a wildcard
// address (0.0.0.0, [::], or no host at all; net/http reports each as [::])
// is dual-stack and reachable on loopback, so 127.0.0.1 takes its place;
// other addresses are returned as they are.
func DialAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || len(tcp.IP) != 0 && !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
}
