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
	// ProtectionWarnings counts the warnings about volumes that would not
	// fail over after a zone loss.
	ProtectionWarnings prometheus.Counter
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
		ProtectionWarnings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "linstor_ha_webhook_protection_warnings_total",
			Help: "Admission warnings about a pod's volume that would not fail over after the loss of a zone or a node.",
		}),
	}
	reg.MustRegister(m.Admissions, m.Duration, m.ProtectionWarnings)
	return m
}
