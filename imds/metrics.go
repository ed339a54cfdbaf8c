package imds

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the metadata servers' collectors: imdsemu_imds_requests_total,
// imdsemu_imds_tokens_issued_total and the credential gauges. Servers made
// with the same Metrics ([Options.Metrics]) share them, each server's
// series labelled with its instance ID under the label given to
// [NewMetrics]: a process of many instances registers the collectors once
// instead of once for each. Labels are bounded: route is a route template
// or the path of one of the instance's fixed leaves, never a raw path, so
// role names cannot become labels. Safe for concurrent use.
type Metrics struct {
	label    string // "": one server, no instance label
	requests *prometheus.CounterVec
	tokens   *prometheus.CounterVec
	creds    *credentialsCollector
	reg      prometheus.Registerer // registered on, for a Server's Options()
}

// NewMetrics makes the collectors and registers them on reg.
// instanceLabel names the label that tells the servers' series apart
// (instance_id, say); "" means none, for one server only.
func NewMetrics(reg prometheus.Registerer, instanceLabel string) (*Metrics, error) {
	var labels []string
	if instanceLabel != "" {
		labels = []string{instanceLabel}
	}
	m := &Metrics{
		label: instanceLabel, reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imdsemu_imds_requests_total",
			Help: "Metadata requests by route template, IMDS version (v1: no token, v2: valid token, none: token requests, bad tokens, endpoint disabled, throttled; ecs: the ECS container credentials endpoint, route ecs) and status code.",
		}, append(slices.Clone(labels), "route", "version", "code")),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imdsemu_imds_tokens_issued_total",
			Help: "IMDSv2 session tokens issued.",
		}, labels),
		creds: &credentialsCollector{
			labelled: instanceLabel != "",
			remaining: prometheus.NewDesc("imdsemu_imds_credentials_remaining_seconds",
				"Seconds until the served role credentials expire (negative once expired). Absent while no role is attached.", labels, nil),
			age: prometheus.NewDesc("imdsemu_imds_credentials_age_seconds",
				"Seconds since the served role credentials were last updated. Absent while no role is attached.", labels, nil),
		},
	}
	for _, c := range []prometheus.Collector{m.requests, m.tokens, m.creds} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("imds: registering metrics: %w", err)
		}
	}
	return m, nil
}

// join adds s, whose fields but metrics are set, to m, and returns its
// view of them.
func (m *Metrics) join(s *Server) (*metrics, error) {
	if err := m.creds.add(s); err != nil {
		return nil, err
	}
	sm := &metrics{shared: m}
	if m.label == "" {
		// One server: its series is there, at 0, from the start.
		sm.tokensIssued.Store(&counterBox{m.tokens.WithLabelValues()})
	}
	return sm, nil
}

// metrics are one server's view of its Metrics. Its series carry the
// server's instance ID (Server.tokens.id), given to the methods that need
// it, in the instance label, if the Metrics have one.
type metrics struct {
	shared *Metrics
	// tokensIssued is the server's series of tokens, made on its first
	// token when the series are labelled by instance (as the request
	// counters are): some 400 bytes for each instance of a large fleet,
	// most of which are never asked for a token.
	tokensIssued atomic.Pointer[counterBox]
	// counters are the request counters of each endpoint of the server's
	// Routes, by endpoint id, allocated on the first request counted.
	counters atomic.Pointer[[]counterSet]
	// own: the server made shared from Options.Registerer, and did not
	// get it as Options.Metrics.
	own bool
}

// labels are the label values of a series of the server of instance id:
// the id, if the Metrics have an instance label, then the series' own.
func (m *Metrics) labels(id string, own ...string) []string {
	if m.label == "" {
		return own
	}
	return append([]string{id}, own...)
}

// tokenIssued counts a token issued.
func (m *metrics) tokenIssued(id string) {
	c := m.tokensIssued.Load()
	if c == nil {
		c = &counterBox{m.shared.tokens.WithLabelValues(m.shared.labels(id)...)}
		m.tokensIssued.Store(c) // a racing first token stores the same counter
	}
	c.Inc()
}

// counterSet returns the counters of the endpoint with the given id, of
// the server's n endpoints.
func (m *metrics) counterSet(id, n int) *counterSet {
	cs := m.counters.Load()
	if cs == nil {
		t := make([]counterSet, n)
		if !m.counters.CompareAndSwap(nil, &t) {
			cs = m.counters.Load()
		} else {
			cs = &t
		}
	}
	return &(*cs)[id]
}

// counterSet resolves a route's request counters once: the first request
// with a (version, code) pair calls WithLabelValues, later ones load the
// counter it returned, which saves hashing and checking three label values
// on every request. The table is allocated on the route's first request.
type counterSet struct {
	table atomic.Pointer[[numVersions * numCodes]atomic.Pointer[counterBox]]
}

type counterBox struct{ prometheus.Counter }

// The version labels and the status codes the server sends, as indexes.
const (
	numVersions = 4
	numCodes    = 8
)

func versionIndex(v string) int {
	switch v {
	case versionV1:
		return 0
	case versionV2:
		return 1
	case versionNone:
		return 2
	case versionECS:
		return 3
	}
	return -1
}

func codeIndex(code int) int {
	switch code {
	case http.StatusOK:
		return 0
	case http.StatusBadRequest:
		return 1
	case http.StatusUnauthorized:
		return 2
	case http.StatusForbidden:
		return 3
	case http.StatusNotFound:
		return 4
	case http.StatusMethodNotAllowed:
		return 5
	case http.StatusTooManyRequests:
		return 6
	case http.StatusInternalServerError:
		return 7
	}
	return -1
}

// requests is the counter of requests of route, version and code of the
// server of instance id.
func (m *metrics) requests(id, route, version string, code int) prometheus.Counter {
	return m.shared.requests.WithLabelValues(m.shared.labels(id, route, version, statusText(code))...)
}

// countRequest counts one request of route to the server of instance id
// in cs; nil cs (a route label that is not one template) looks the
// counter up each time.
func (m *metrics) countRequest(id string, cs *counterSet, route, version string, code int) {
	vi, ci := versionIndex(version), codeIndex(code)
	if vi < 0 || ci < 0 || cs == nil {
		m.requests(id, route, version, code).Inc()
		return
	}
	t := cs.table.Load()
	if t == nil {
		t = new([numVersions * numCodes]atomic.Pointer[counterBox])
		if !cs.table.CompareAndSwap(nil, t) {
			t = cs.table.Load()
		}
	}
	slot := &t[vi*numCodes+ci]
	b := slot.Load()
	if b == nil {
		// Two requests may both get here: WithLabelValues gives both the
		// same counter.
		b = &counterBox{m.requests(id, route, version, code)}
		slot.Store(b)
	}
	b.Inc()
}

// credentialsCollector computes the credential gauges of its members at
// scrape time from their sources, like a GaugeFunc each, but reports
// nothing rather than a made-up value while no role is attached or an
// error document stands in for the credentials.
type credentialsCollector struct {
	remaining, age *prometheus.Desc
	labelled       bool // the series carry the instance label
	mu             sync.Mutex
	// members are the servers, of which Collect reads the fields New
	// sets before it adds them (creds, now, tokens), and nothing else.
	members []*Server
}

// add adds a member; without an instance label, only one.
func (c *credentialsCollector) add(s *Server) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.labelled && len(c.members) > 0 {
		return errors.New("imds: Metrics made without an instance label serve one Server")
	}
	c.members = append(c.members, s)
	return nil
}

func (c *credentialsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.remaining
	ch <- c.age
}

func (c *credentialsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	members := c.members[:len(c.members):len(c.members)]
	c.mu.Unlock()
	var values []string
	for _, s := range members {
		a, ok := s.creds.Current()
		if !ok || a.Role == "" || a.Error != nil {
			continue
		}
		if c.labelled {
			values = append(values[:0], s.tokens.id)
		}
		now := s.now()
		ch <- prometheus.MustNewConstMetric(c.remaining, prometheus.GaugeValue, a.Credentials.Expires.Sub(now).Seconds(), values...)
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, now.Sub(a.Credentials.Issued).Seconds(), values...)
	}
}
