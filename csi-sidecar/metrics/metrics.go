// Package metrics defines the sidecar's Prometheus metrics.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/linstor-ha/linstor-ha/pkg/buildinfo"
)

// Metrics are the sidecar's metrics, registered on their own registry.
type Metrics struct {
	Registry *prometheus.Registry

	// Actions counts fail-over actions by kind and result (done, failed,
	// dry-run).
	Actions *prometheus.CounterVec
	// Refusals counts fail-overs not done, by reason.
	Refusals *prometheus.CounterVec
	// DetectionToAction is the time from DRBD showing a peer lost to the
	// fail-over's actions being done.
	DetectionToAction prometheus.Histogram
	// Resources counts the node's DRBD resources by health.
	Resources *prometheus.GaugeVec
	// LostPeerReplicas counts the peers' replicas this node's DRBD has
	// lost, over all resources.
	LostPeerReplicas prometheus.Gauge
	// ParseErrors counts skipped events2 lines.
	ParseErrors prometheus.Counter
	// DrbdsetupRestarts counts restarts of drbdsetup events2.
	DrbdsetupRestarts prometheus.Counter
	// APIErrors counts failed API requests by operation.
	APIErrors *prometheus.CounterVec
	// ConflictingActorPods counts the running pods of another fail-over
	// actor (Piraeus' HA controller); while it is above 0 the sidecar
	// takes no fail-over action.
	ConflictingActorPods prometheus.Gauge
	// ReportWritten is when the node's replica report was last written:
	// an alert compares it with the time, because a report that stopped
	// changing is what the scheduler and the peers' sidecars see of a
	// sidecar that runs but cannot reach the API server.
	ReportWritten prometheus.Gauge
}

// The protection gauges are set by the report publisher, which computes
// the resources' protection for the node's report and has no Metrics of
// its own; like apiRequests, every registry that New creates shares them.
var (
	// VolumesByProtection counts DRBD resources (volumes) by protection:
	// ZoneSafe, NodeSafe, Unprotected, Unknown. A resource is counted by
	// one node: the one with the lowest name among the replicas connected
	// to each other.
	VolumesByProtection = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "linstor_ha_volumes",
		Help: "DRBD resources by protection (ZoneSafe, NodeSafe, Unprotected, Unknown), each counted by one node: the lowest-named of its replicas connected to each other.",
	}, []string{"protection"})
	// VolumesNotSurvivingZoneLoss counts, per zone that holds replicas,
	// the resources whose pods could not fail over, or might not, after
	// the loss of that zone; counted as VolumesByProtection.
	VolumesNotSurvivingZoneLoss = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "linstor_ha_volumes_not_surviving_zone_loss",
		Help: "DRBD resources whose pods could not fail over (or might not, for nodes without a zone) after the loss of the zone, counted as linstor_ha_volumes.",
	}, []string{"zone"})
)

// New creates and registers the metrics.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linstor_ha_failover_actions_total", Help: "Fail-over actions by kind and result.",
		}, []string{"kind", "result"}),
		Refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linstor_ha_failover_refusals_total", Help: "Fail-overs not done, by reason.",
		}, []string{"reason"}),
		DetectionToAction: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "linstor_ha_failover_detection_to_action_seconds",
			Help:    "Time from DRBD showing a peer lost to the fail-over actions done.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
		}),
		Resources: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "linstor_ha_drbd_resources", Help: "DRBD resources of the node by health.",
		}, []string{"state"}),
		LostPeerReplicas: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "linstor_ha_lost_peer_replicas", Help: "Peers' replicas of the node's DRBD resources that it is disconnected from.",
		}),
		ParseErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "linstor_ha_events2_parse_errors_total", Help: "drbdsetup events2 lines skipped as malformed.",
		}),
		DrbdsetupRestarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "linstor_ha_drbdsetup_restarts_total", Help: "Restarts of drbdsetup events2.",
		}),
		APIErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linstor_ha_api_errors_total", Help: "Failed Kubernetes API requests by operation.",
		}, []string{"operation"}),
		ConflictingActorPods: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "linstor_ha_conflicting_failover_actor_pods",
			Help: "Running pods of another fail-over actor (--conflicting-actor-selector, Piraeus' HA controller by default); while above 0 the sidecar takes no fail-over action.",
		}),
		ReportWritten: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "linstor_ha_report_last_write_timestamp_seconds",
			Help: "Unix time of the last successful write of the node's replica report; 0 before the first.",
		}),
	}
	hookClientMetrics()
	m.Registry.MustRegister(m.Actions, m.Refusals, m.DetectionToAction, m.Resources, m.LostPeerReplicas, m.ParseErrors, m.DrbdsetupRestarts, m.APIErrors, m.ConflictingActorPods, m.ReportWritten,
		apiRequests, VolumesByProtection, VolumesNotSurvivingZoneLoss, buildinfo.NewCollector(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
