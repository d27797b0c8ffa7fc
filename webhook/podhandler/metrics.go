package podhandler

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Admission results, the values of the result label.
const (
	resultMutated      = "mutated"
	resultUnchanged    = "unchanged"
	resultNotDRBD      = "not_drbd"
	resultExcluded     = "excluded"
	resultLookupFailed = "lookup_failed"
	resultBadRequest   = "bad_request"
)

// Metrics are the handler's Prometheus metrics.
type Metrics struct {
	Admissions *prometheus.CounterVec
	Duration   prometheus.Histogram
}

// NewMetrics registers the handler's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Admissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linstor_ha_webhook_admissions_total",
			Help: "Pod admissions handled, by result: mutated, unchanged, not_drbd, excluded, lookup_failed (admitted unchanged with a warning), bad_request.",
		}, []string{"result"}),
		Duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "linstor_ha_webhook_admission_duration_seconds",
			Help:    "Time to handle one pod admission.",
			Buckets: []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5},
		}),
	}
	reg.MustRegister(m.Admissions, m.Duration)
	return m
}
