// Package buildinfo exports which build of linstor-ha a binary is as the
// metric linstor_ha_build_info, on each binary's metrics endpoint.
package buildinfo

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/linstor-ha/linstor-ha/pkg/version"
)

// Name is the metric's name.
const Name = "linstor_ha_build_info"

// NewCollector returns the gauge linstor_ha_build_info{version, revision,
// goversion}, of constant value 1, for this build (pkg/version).
func NewCollector() prometheus.Collector {
	info := version.Get()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: Name,
		Help: "A metric with a constant '1' value labeled by the version, the git revision and the Go version linstor-ha was built from.",
		ConstLabels: prometheus.Labels{
			"version":   info.Version,
			"revision":  info.Commit,
			"goversion": info.GoVersion,
		},
	})
	g.Set(1)
	return g
}
