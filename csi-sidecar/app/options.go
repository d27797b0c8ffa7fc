// Package app wires the sidecar together: the CSI driver connection, the
// DRBD stream, the replica report, the cluster view and the fail-over
// controller, with metrics and health endpoints.
package app

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/liveness"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/pkg/restconfig"
)

// Options are the sidecar's flags.
type Options struct {
	CSIAddress      string
	DriverName      string
	NodeName        string
	Kubeconfig      string
	Drbdsetup       string
	FailOverTimeout time.Duration
	// UntaintAfter is how long this node must have quorum everywhere
	// again before its own taint goes.
	UntaintAfter     time.Duration
	ReportHeartbeat  time.Duration
	ReportStaleAfter time.Duration
	// LivenessNamespace holds the nodes' liveness Leases; empty turns
	// them off.
	LivenessNamespace string
	LivenessInterval  time.Duration
	LivenessDuration  time.Duration
	DryRun            bool
	// LostQuorumTaint and ForceIOErrorTaint are the keys of the NoSchedule
	// taints the sidecar sets; DisableNodeTaints sets none.
	LostQuorumTaint   string
	ForceIOErrorTaint string
	DisableNodeTaints bool
	HTTPEndpoint      string
	// StuckAfter is how long a fail-over evaluation or a report write may
	// run, and the DRBD stream go without its initial dump, before
	// /healthz fails.
	StuckAfter   time.Duration
	KubeAPIQPS   float64
	KubeAPIBurst int
	// KubeAPIHealthCheck is how soon a connection to the API server that a
	// partition left open is given up.
	KubeAPIHealthCheck restconfig.HealthCheck
	// MemoryLimit is the Go runtime's soft memory limit, unless the
	// environment sets GOMEMLIMIT; 0 leaves the runtime's default.
	MemoryLimit int64
	// NodeNameMap maps DRBD connection names to node names where they
	// differ ("conn=node,conn2=node2").
	NodeNameMap map[string]string
	nodeNameMap string
	// ConflictingActorSelector selects the pods of another fail-over
	// actor, while any of which runs the sidecar does not act; empty
	// looks for none.
	ConflictingActorSelector string
	// Deprecations are the deprecated flags that were given, each with
	// what replaces it, for main to log.
	Deprecations []string
}

// AddFlags registers the options on fs, with their defaults.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.CSIAddress, "csi-address", "/csi/csi.sock", "Address of the CSI driver socket.")
	fs.StringVar(&o.DriverName, "driver-name", metadata.DriverName, "CSI driver the sidecar serves; it refuses to start next to another one.")
	fs.StringVar(&o.NodeName, "node-name", os.Getenv("NODE_NAME"), "Name of this node (default $NODE_NAME).")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "Kubeconfig file; in-cluster configuration when empty.")
	fs.StringVar(&o.Drbdsetup, "drbdsetup", "drbdsetup", "drbdsetup binary.")
	fs.DurationVar(&o.FailOverTimeout, "fail-over-timeout", 5*time.Second, "How long a peer must stay lost before its pods are failed over.")
	fs.DurationVar(&o.UntaintAfter, "untaint-after", 2*time.Second, "How long this node must have quorum everywhere again before its taint goes.")
	// The old name read like Piraeus' HA controller's pod-deletion grace
	// period, which it never was; it stays accepted so that existing
	// manifests keep working.
	fs.Func("grace-period", "Deprecated: use --untaint-after.", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		o.UntaintAfter = d
		o.Deprecations = append(o.Deprecations, "--grace-period is deprecated: use --untaint-after")
		return nil
	})
	fs.DurationVar(&o.ReportHeartbeat, "report-heartbeat", 5*time.Second, "How often the replica report is confirmed when nothing changes.")
	fs.DurationVar(&o.ReportStaleAfter, "report-stale-after", 15*time.Second, "How long a lost peer's replica report counts once its heartbeat stops changing, by this node's clock.")
	fs.StringVar(&o.LivenessNamespace, "liveness-namespace", os.Getenv("POD_NAMESPACE"), "Namespace of the nodes' liveness Leases (default $POD_NAMESPACE); empty turns them off, and a crashed peer is then proven only by its stale report or its NotReady node.")
	fs.DurationVar(&o.LivenessInterval, "liveness-interval", time.Second, "How often this node's liveness Lease is renewed.")
	fs.DurationVar(&o.LivenessDuration, "liveness-duration", 3*time.Second, "How long a peer's Lease may stay unrenewed before its sidecar counts as stopped (whole seconds).")
	fs.BoolVar(&o.DryRun, "dry-run", false, "Log and record Events of what would be done, change nothing.")
	fs.StringVar(&o.HTTPEndpoint, "http-endpoint", ":9811", "Address of /metrics, /healthz and /readyz; empty disables it.")
	fs.DurationVar(&o.StuckAfter, "stuck-after", 2*time.Minute, "How long a fail-over evaluation or a replica report write may run, and drbdsetup events2 go without completing its initial dump, before /healthz fails and the liveness probe restarts the container. Every API and drbdsetup call has a deadline, so only a stuck loop lasts this long.")
	fs.Float64Var(&o.KubeAPIQPS, "kube-api-qps", 50, "QPS towards the API server.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", 200, "Burst towards the API server.")
	fs.DurationVar(&o.KubeAPIHealthCheck.ReadIdle, "kube-api-read-idle-timeout", restconfig.DefaultHealthCheck.ReadIdle, "How long a connection to the API server may carry nothing before it is pinged; 0 keeps client-go's process-wide check (30 s + 15 s by default). A partition leaves connections open without an error.")
	fs.DurationVar(&o.KubeAPIHealthCheck.PingTimeout, "kube-api-ping-timeout", restconfig.DefaultHealthCheck.PingTimeout, "How long that ping may go unanswered before the connection is closed and requests on it fail and are retried on a new one.")
	fs.Int64Var(&o.MemoryLimit, "memory-limit-bytes", 48<<20, "Soft memory limit of the Go runtime (GOMEMLIMIT overrides it; 0: none). The sidecar's live heap is small; the limit keeps garbage from growing its footprint on every node.")
	fs.StringVar(&o.LostQuorumTaint, "lost-quorum-taint", metadata.TaintLostQuorum, "Key of the NoSchedule taint on a node that lost quorum for a volume in use or that a peer proved frozen; the default is tolerated by every Piraeus component.")
	fs.StringVar(&o.ForceIOErrorTaint, "force-io-error-taint", metadata.TaintForceIOError, "Key of the NoSchedule taint on a node where a DRBD device in use fails its I/O (force-io-failures); the default is tolerated by every Piraeus component.")
	fs.BoolVar(&o.DisableNodeTaints, "disable-node-taints", false, "Set no taint on any node; pods may then be scheduled back onto a node that lost quorum or fails I/O.")
	fs.StringVar(&o.ConflictingActorSelector, "conflicting-actor-selector", metadata.PiraeusHAControllerSelector, "Label selector of the pods of another fail-over actor, in any namespace (default: Piraeus' HA controller); while one of them runs (not Succeeded or Failed) the sidecar takes no fail-over action, since two actors void its proof. Empty looks for none.")
	fs.StringVar(&o.nodeNameMap, "node-name-map", "", "DRBD connection name to node name where they differ: conn=node,conn2=node2.")
}

// Complete checks the options and derives what the flags leave implicit.
func (o *Options) Complete() error {
	var errs []error
	if o.NodeName == "" {
		errs = append(errs, errors.New("--node-name (or $NODE_NAME) is required"))
	}
	if o.FailOverTimeout < 0 || o.UntaintAfter < 0 {
		errs = append(errs, errors.New("--fail-over-timeout and --untaint-after must not be negative"))
	}
	if o.ReportHeartbeat <= 0 || o.ReportStaleAfter <= o.ReportHeartbeat {
		errs = append(errs, errors.New("--report-stale-after must be longer than --report-heartbeat, which must be positive"))
	}
	if o.StuckAfter < 10*time.Second {
		errs = append(errs, errors.New("--stuck-after must be at least 10s: a fail-over of many pods takes seconds"))
	}
	if o.LivenessNamespace != "" {
		if o.LivenessInterval <= 0 || o.LivenessDuration < 2*o.LivenessInterval || o.LivenessDuration%time.Second != 0 {
			errs = append(errs, errors.New("--liveness-duration must be whole seconds and at least twice --liveness-interval, which must be positive"))
		}
		if err := liveness.CheckNodeName(o.NodeName); err != nil {
			errs = append(errs, err)
		}
	}
	if err := o.KubeAPIHealthCheck.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--kube-api-read-idle-timeout, --kube-api-ping-timeout: %w", err))
	}
	if o.LostQuorumTaint == "" {
		o.LostQuorumTaint = metadata.TaintLostQuorum
	}
	if o.ForceIOErrorTaint == "" {
		o.ForceIOErrorTaint = metadata.TaintForceIOError
	}
	for _, t := range []struct{ flag, key string }{{"--lost-quorum-taint", o.LostQuorumTaint}, {"--force-io-error-taint", o.ForceIOErrorTaint}} {
		if msgs := validation.IsQualifiedName(t.key); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s=%q is not a taint key: %s", t.flag, t.key, strings.Join(msgs, "; ")))
		}
	}
	if o.LostQuorumTaint == o.ForceIOErrorTaint {
		errs = append(errs, fmt.Errorf("--lost-quorum-taint and --force-io-error-taint must differ, both are %q", o.LostQuorumTaint))
	}
	if _, err := labels.Parse(o.ConflictingActorSelector); err != nil {
		errs = append(errs, fmt.Errorf("--conflicting-actor-selector: %w", err))
	}
	o.NodeNameMap = map[string]string{}
	if o.nodeNameMap != "" {
		for _, pair := range strings.Split(o.nodeNameMap, ",") {
			conn, node, ok := strings.Cut(pair, "=")
			if !ok || conn == "" || node == "" {
				errs = append(errs, fmt.Errorf("--node-name-map: %q is not conn=node", pair))
				continue
			}
			o.NodeNameMap[conn] = node
		}
	}
	return errors.Join(errs...)
}

// PeerNode maps a DRBD connection name to a node name.
func (o *Options) PeerNode(conn string) string {
	if n, ok := o.NodeNameMap[conn]; ok {
		return n
	}
	return conn
}
