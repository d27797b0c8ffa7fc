package report

import (
	"github.com/linstor-ha/linstor-ha/csi-sidecar/metrics"
)

// setProtectionMetrics replaces the protection gauges with counts.
func setProtectionMetrics(counts Protections) {
	metrics.VolumesByProtection.Reset()
	for s, n := range counts.BySummary {
		metrics.VolumesByProtection.WithLabelValues(string(s)).Set(float64(n))
	}
	metrics.VolumesNotSurvivingZoneLoss.Reset()
	for zone, n := range counts.NotSurvivingZoneLoss {
		metrics.VolumesNotSurvivingZoneLoss.WithLabelValues(zone).Set(float64(n))
	}
}
