package fault

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the injector's collectors. The only label is the action, a
// closed set: rule names are the user's and unbounded, so they stay out.
type metrics struct {
	firedTotal *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{firedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "imdsemu_faults_fired_total",
		Help: "Requests or connections a fault rule affected, by action.",
	}, []string{"action"})}
	for _, a := range Actions() {
		m.firedTotal.WithLabelValues(string(a))
	}
	if reg == nil {
		return m, nil
	}
	if err := reg.Register(m.firedTotal); err != nil {
		return nil, fmt.Errorf("fault: registering metrics: %w", err)
	}
	return m, nil
}

func (m *metrics) fired(a Action) {
	m.firedTotal.WithLabelValues(string(a)).Inc()
}
