package httpserve

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Hosts is the set of Host names a listener answers to. IP literals (any
// address: a name can be rebound, an address cannot), "localhost" and a
// request without Host are always allowed. Its zero value is not ready;
// use NewHosts.
type Hosts struct {
	names map[string]bool
}

// NewHosts allows "localhost" and each of names, which may carry a port
// (a listen address such as "imdsemu.internal:1338") and are compared
// without case. IP literals among names change nothing.
func NewHosts(names ...string) *Hosts {
	h := &Hosts{names: map[string]bool{"localhost": true}}
	for _, n := range names {
		if n = normalize(n); n != "" {
			h.names[n] = true
		}
	}
	return h
}

// normalize drops the port, brackets and a trailing dot, and lowers case.
func normalize(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// Allowed reports whether a request with Host host (the Host header, port
// included or not) is served.
func (h *Hosts) Allowed(host string) bool {
	if host == "" {
		return true
	}
	n := normalize(host)
	if _, err := netip.ParseAddr(n); err == nil {
		return true
	}
	return h.names[n]
}

// maxEchoedHost bounds the Host name quoted back in a 403.
const maxEchoedHost = 64

// Handler serves next only the requests whose Host is allowed; others get
// 403 and are counted under listener. A request without Host reaches next
// only over HTTP/1.0 (net/http answers 400 to an HTTP/1.1 one). m may be nil.
func (h *Hosts) Handler(listener string, next http.Handler, m *Metrics) http.Handler {
	return front(h, listener, next, m, 0)
}

// front is what a listener's requests pass before next, in one layer: when
// bodyRead is set, the read deadline of a request with a body (see
// Options.BodyDeadline); when hosts is not nil, the Host allowlist.
func front(hosts *Hosts, listener string, next http.Handler, m *Metrics, bodyRead time.Duration) http.Handler {
	var rejected counter
	if hosts != nil && m != nil {
		rejected = m.hostRejected.WithLabelValues(listener)
	}
	// The body deadline and the refusal are functions of their own so that
	// the path every request takes keeps a small stack frame (see
	// refuseHost).
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if bodyRead > 0 && r.ContentLength != 0 { // -1: chunked or unknown
			setBodyDeadline(w, bodyRead)
		}
		if hosts == nil || hosts.Allowed(r.Host) {
			next.ServeHTTP(w, r)
			return
		}
		refuseHost(w, r, rejected)
	})
}

// setBodyDeadline sets the read deadline of a request with a body to d from
// now, as http.Server's ReadTimeout would have from the start of the
// request, before any handler (or net/http, which reads up to 256 KiB of a
// body the handler left) reads the body.
func setBodyDeadline(w http.ResponseWriter, d time.Duration) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
}

// refuseHost answers 403 to a request whose Host is not allowed. It is kept
// out of the handler's own frame: a goroutine serving a new connection
// starts with a small stack, and the bytes this path would add to every
// request's frame are enough to make the metadata listener's token PUT
// grow it once more, which cost that request a few per cent of its CPU.
func refuseHost(w http.ResponseWriter, r *http.Request, rejected counter) {
	if rejected != nil {
		rejected.Inc()
	}
	host := r.Host
	if len(host) > maxEchoedHost {
		host = host[:maxEchoedHost] + "…"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, "imdsemu: this listener does not answer to Host %q: use an IP address or localhost, "+
		"or add the name to the listener's allowed hosts (a guard against DNS rebinding)\n", host)
}
