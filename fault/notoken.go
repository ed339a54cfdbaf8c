package fault

import (
	"fmt"
	"net/http"
	"net/netip"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxClients bounds the client label of
// imdsemu_imds_no_token_requests_total; later clients count as "other".
const DefaultMaxClients = 256

// NoTokenCounter counts metadata requests answered successfully without a
// token (IMDSv1), by client IP address, like the MetadataNoToken metric EC2
// publishes to CloudWatch: a service whose count stays flat is IMDSv2-clean
// and will keep working with http-tokens required.
//
// Only GET and HEAD requests with no token header that are answered with
// a 2xx or 3xx status count. Wrap it inside the fault Handler, so that
// requests a fault answers are not counted.
type NoTokenCounter struct {
	next       http.Handler
	requests   *prometheus.CounterVec
	maxClients int

	mu      sync.Mutex
	clients map[netip.Addr]*clientCount // by labelled client
	other   clientCount
}

// clientCount is one label's count and its counter, looked up once.
type clientCount struct {
	counter prometheus.Counter
	n       uint64
}

// NewNoTokenCounter wraps next and registers the counter on reg (nil: no
// registration). maxClients <= 0 means DefaultMaxClients.
func NewNoTokenCounter(next http.Handler, reg prometheus.Registerer, maxClients int) (*NoTokenCounter, error) {
	if maxClients <= 0 {
		maxClients = DefaultMaxClients
	}
	c := &NoTokenCounter{
		next:       next,
		maxClients: maxClients,
		clients:    map[netip.Addr]*clientCount{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imdsemu_imds_no_token_requests_total",
			Help: "Metadata GET/HEAD requests answered successfully without an IMDSv2 token, by client IP address (like EC2's MetadataNoToken). After the first " +
				fmt.Sprint(maxClients) + " clients, others count as \"other\".",
		}, []string{"client"}),
	}
	if reg != nil {
		if err := reg.Register(c.requests); err != nil {
			return nil, fmt.Errorf("fault: registering metrics: %w", err)
		}
	}
	return c, nil
}

func (c *NoTokenCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || len(r.Header.Values(headerToken)) > 0 {
		c.next.ServeHTTP(w, r)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	c.next.ServeHTTP(sw, r)
	if sw.code == 0 {
		sw.code = http.StatusOK
	}
	if sw.code >= 200 && sw.code < 400 {
		c.count(r.RemoteAddr)
	}
}

// count adds one request for the client at remote: to its own label while
// there are fewer than maxClients labels, else to "other". The counter of
// a label is looked up once, so a request costs a map lookup.
func (c *NoTokenCounter) count(remote string) {
	ap, err := netip.ParseAddrPort(remote)
	c.mu.Lock()
	defer c.mu.Unlock()
	cc := &c.other
	if err == nil {
		ip := ap.Addr().Unmap()
		if known, ok := c.clients[ip]; ok {
			cc = known
		} else if len(c.clients) < c.maxClients {
			cc = &clientCount{counter: c.requests.WithLabelValues(ip.String())}
			c.clients[ip] = cc
		}
	}
	if cc.counter == nil { // "other", made on first use so it is not exported at 0
		cc.counter = c.requests.WithLabelValues("other")
	}
	cc.n++
	cc.counter.Inc()
}

// Counts returns the requests counted so far by client address, as the
// metric has them ("other" for those past the bound).
func (c *NoTokenCounter) Counts() map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]uint64, len(c.clients)+1)
	for ip, cc := range c.clients {
		out[ip.String()] = cc.n
	}
	if c.other.n > 0 {
		out["other"] = c.other.n
	}
	return out
}

// statusWriter records the status code.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
