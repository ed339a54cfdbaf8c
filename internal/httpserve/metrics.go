package httpserve

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the listeners' connection and Host metrics, labelled by
// listener.
type Metrics struct {
	open         *prometheus.GaugeVec
	limit        *prometheus.GaugeVec
	atLimit      *prometheus.CounterVec
	hostRejected *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg when it is
// not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	l := []string{"listener"}
	m := &Metrics{
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "imdsemu_http_connections_open",
			Help: "Connections a listener holds open.",
		}, l),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "imdsemu_http_connections_limit",
			Help: "Most connections a listener holds open; past it, new connections wait in the kernel's accept queue.",
		}, l),
		atLimit: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imdsemu_http_connections_limit_reached_total",
			Help: "Times a listener reached its connection limit.",
		}, l),
		hostRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imdsemu_http_host_rejected_total",
			Help: "Requests refused with 403 because their Host header named a host the listener does not answer to (DNS rebinding guard).",
		}, l),
	}
	if reg != nil {
		reg.MustRegister(m.open, m.limit, m.atLimit, m.hostRejected)
	}
	return m
}
