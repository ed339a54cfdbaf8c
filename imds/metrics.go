package imds

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's collectors. Labels are bounded: route is a
// route template or the path of one of the instance's fixed leaves, never
// a raw path, so role names cannot become labels.
type metrics struct {
	requests     *prometheus.CounterVec
	tokensIssued prometheus.Counter
	// counters are the request counters of each endpoint of the server's
	// Routes, by endpoint id.
	counters []counterSet
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

// countRequest counts one request of route in cs; nil cs (a route label
// that is not one template) looks the counter up each time.
func (m *metrics) countRequest(cs *counterSet, route, version string, code int) {
	vi, ci := versionIndex(version), codeIndex(code)
	if vi < 0 || ci < 0 || cs == nil {
		m.requests.WithLabelValues(route, version, statusText(code)).Inc()
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
		b = &counterBox{m.requests.WithLabelValues(route, version, statusText(code))}
		slot.Store(b)
	}
	b.Inc()
}

// newMetrics registers the server's collectors on reg; endpoints is the
// number of endpoints of its Routes.
func newMetrics(reg prometheus.Registerer, src CredentialSource, now func() time.Time, endpoints int) (*metrics, error) {
	m := &metrics{
		counters: make([]counterSet, endpoints),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imdsemu_imds_requests_total",
			Help: "Metadata requests by route template, IMDS version (v1: no token, v2: valid token, none: token requests, bad tokens, endpoint disabled, throttled; ecs: the ECS container credentials endpoint, route ecs) and status code.",
		}, []string{"route", "version", "code"}),
		tokensIssued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imdsemu_imds_tokens_issued_total",
			Help: "IMDSv2 session tokens issued.",
		}),
	}
	cc := &credentialsCollector{
		src: src,
		now: now,
		remaining: prometheus.NewDesc("imdsemu_imds_credentials_remaining_seconds",
			"Seconds until the served role credentials expire (negative once expired). Absent while no role is attached.", nil, nil),
		age: prometheus.NewDesc("imdsemu_imds_credentials_age_seconds",
			"Seconds since the served role credentials were last updated. Absent while no role is attached.", nil, nil),
	}
	for _, c := range []prometheus.Collector{m.requests, m.tokensIssued, cc} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("imds: registering metrics: %w", err)
		}
	}
	return m, nil
}

// credentialsCollector computes the credential gauges at scrape time from
// the source, like a GaugeFunc, but reports nothing rather than a made-up
// value while no role is attached or an error document stands in for the
// credentials.
type credentialsCollector struct {
	src            CredentialSource
	now            func() time.Time
	remaining, age *prometheus.Desc
}

func (c *credentialsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.remaining
	ch <- c.age
}

func (c *credentialsCollector) Collect(ch chan<- prometheus.Metric) {
	a, ok := c.src.Current()
	if !ok || a.Role == "" || a.Error != nil {
		return
	}
	now := c.now()
	ch <- prometheus.MustNewConstMetric(c.remaining, prometheus.GaugeValue, a.Credentials.Expires.Sub(now).Seconds())
	ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, now.Sub(a.Credentials.Issued).Seconds())
}
