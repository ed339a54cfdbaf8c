package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// IMDSRequest is one request a lane made to the metadata service, as its
// proxy saw it.
type IMDSRequest struct {
	Lane    string        `json:"lane"`
	Time    time.Time     `json:"time"`
	Method  string        `json:"method"`
	Path    string        `json:"path"`
	Version string        `json:"version"` // "v2" with a token header or for the token PUT, else "v1"
	Status  int           `json:"status"`  // 0: the connection failed
	Latency time.Duration `json:"-"`
}

// Kind is "PUT token", "GET v1" or "GET v2" (and the status when not 200).
func (r IMDSRequest) Kind() string {
	k := r.Method + " " + r.Version
	if r.Method == http.MethodPut {
		k = "PUT token"
	}
	switch r.Status {
	case http.StatusOK:
	case 0:
		k += " failed"
	default:
		k += fmt.Sprintf(" %d", r.Status)
	}
	return k
}

// Proxy is a lane's own recording reverse proxy in front of the metadata
// service: its token PUTs, GETs, IMDSv1 fallbacks and retries show in its
// trace. Its upstream connections come from their own loopback address
// (127.0.0.N), so the server's events and client matchers tell the lanes
// apart too. A failed upstream connection is passed on as a reset, not as
// a 502, so that clients see the failure the server caused.
type Proxy struct {
	lane string
	srv  *http.Server
	ln   net.Listener
	URL  string // with the trailing slash

	mu  sync.Mutex
	log []IMDSRequest
}

// NewProxy starts a proxy for lane to upstream (the metadata URL),
// connecting from source (an IP such as 127.0.0.12; "" for any).
func NewProxy(lane, upstream, source string) (*Proxy, error) {
	target, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 30 * time.Second}
	if source != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(source)}
	}
	p := &Proxy{lane: lane, ln: ln, URL: "http://" + ln.Addr().String() + "/"}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
		},
		Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 8, IdleConnTimeout: 30 * time.Second},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// Reset the client's connection, as the server did to ours.
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, herr := hj.Hijack(); herr == nil {
					if tc, ok := c.(*net.TCPConn); ok {
						_ = tc.SetLinger(0)
					}
					c.Close()
					return
				}
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{Handler: p.record(rp), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.ResponseWriter.(http.Hijacker).Hijack()
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (p *Proxy) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		v := "v1"
		if r.Method == http.MethodPut || r.Header.Get("X-Aws-Ec2-Metadata-Token") != "" {
			v = "v2"
		}
		p.mu.Lock()
		p.log = append(p.log, IMDSRequest{Lane: p.lane, Time: start, Method: r.Method, Path: r.URL.Path, Version: v, Status: sw.status, Latency: time.Since(start)})
		p.mu.Unlock()
	})
}

// Requests returns the requests so far.
func (p *Proxy) Requests() []IMDSRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]IMDSRequest(nil), p.log...)
}

// Between counts the requests that started in [from, to].
func (p *Proxy) Between(from, to time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.log {
		if !r.Time.Before(from) && !r.Time.After(to) {
			n++
		}
	}
	return n
}

// Close stops the proxy.
func (p *Proxy) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return p.srv.Close()
}
