package cluster

import (
	"time"

	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// NodeSpec describes one kwok node.
type NodeSpec struct {
	Name string
	// Zone is the node's topology.kubernetes.io/zone label (its room).
	Zone string
}

// Options configure a cluster. The zero value is completed by defaults.
type Options struct {
	// Tools is the directory of the upstream programs; EnsureTools finds or
	// builds it when empty.
	Tools string
	// Dir holds everything the cluster writes; a new temporary directory
	// when empty, removed by Stop unless KeepDir.
	Dir     string
	KeepDir bool
	// EtcdFsync has etcd sync its log to disk before it answers a write,
	// as every production etcd does. Test clusters skip it for speed;
	// latency benchmarks that compare with production turn it on.
	EtcdFsync bool
	// APIServerPerRoom runs a kube-apiserver in each room (zone of Nodes),
	// each on an etcd member of its own room, with a third etcd member
	// outside the rooms; every node reaches its own room's first. See
	// controlPlane.
	APIServerPerRoom bool
	// Nodes of the cluster; default: two zones with three nodes each.
	Nodes []NodeSpec
	// NodeMonitorGracePeriod and NodeMonitorPeriod configure the node
	// lifecycle controller; the defaults are upstream's (50 s, 5 s).
	NodeMonitorGracePeriod time.Duration
	NodeMonitorPeriod      time.Duration
	// NodeLeaseDuration is the kubelet's node lease (kwok renews it every
	// quarter of it); default 40 s, as the kubelet's.
	NodeLeaseDuration time.Duration
	// DefaultTolerationSeconds is what the DefaultTolerationSeconds
	// admission plugin gives pods for not-ready and unreachable nodes;
	// default 300, upstream's.
	DefaultTolerationSeconds int
	// DRBDDelays are the simulator's detection and repair delays; nil
	// means DRBD's defaults.
	DRBDDelays *drbdsim.Delays
	// Drbdsetup is a prebuilt drbdsetup stand-in (test/cmd/drbdsetup); it
	// is built into Dir when empty.
	Drbdsetup string
	// Sidecar is a built csi-sidecar binary: when set, every node runs one,
	// with SidecarArgs added to the flags the harness gives it, and the
	// replica report CRD is installed.
	Sidecar     string
	SidecarArgs []string
	// SidecarNamespace is the namespace of the CSI node pods the sidecars
	// run in, and so of their rights and Leases; default: that of
	// manifests/sidecar, Piraeus' default.
	SidecarNamespace string
	// SidecarDaemonSet names a CSI node DaemonSet in SidecarNamespace that
	// the test applies itself, as the Piraeus operator renders it, together
	// with the sidecar's objects: the cluster installs none of them, and a
	// node runs the sidecar container of its pod of that DaemonSet once the
	// pod is scheduled there (StockScheduler) and StartSidecars is called.
	// Empty: the cluster installs manifests/sidecar and gives every node a
	// CSI node pod of its own from components/piraeus's pod template.
	SidecarDaemonSet string
	// StockScheduler runs the upstream kube-scheduler as the default
	// scheduler.
	StockScheduler bool
	// Scheduler is a built cmd/scheduler binary: when set, the cluster runs
	// it as linstor-ha-scheduler with the configuration, service account
	// and RBAC of manifests/scheduler.
	Scheduler string
	// Webhook is a built cmd/webhook binary: when set, the cluster runs it
	// with the account, RBAC and configuration of manifests/webhook, a
	// certificate from certs/generate.sh, and registers it.
	Webhook string
	// WebhookArgs come after the flags the harness gives the webhook.
	WebhookArgs []string
	// SchedulerQPS is the API rate limit of both schedulers (burst twice
	// that); 0 keeps kube-scheduler's default of 50.
	SchedulerQPS int
	// ControllerManagerQPS is kube-controller-manager's API rate limit per
	// controller (burst twice that); 0 keeps its default of 20. Setting up
	// thousands of volumes needs more: the PV controller binds each claim
	// with several writes.
	ControllerManagerQPS int
	// AttacherQPS is the external-attacher's API rate limit (burst twice
	// that); 0 keeps its default of 5, which attaches a room's worth of
	// replacement pods one by one.
	AttacherQPS int
	// BulkNodes adds that many nodes served by one shared kwok, for
	// scheduling at scale; see startBulkNodes.
	BulkNodes int
	// Logf receives progress messages; nil discards them.
	Logf func(format string, args ...any)
}

// DefaultNodes are six nodes in two rooms.
func DefaultNodes() []NodeSpec {
	return []NodeSpec{
		{Name: "node-a1", Zone: "room-a"}, {Name: "node-a2", Zone: "room-a"}, {Name: "node-a3", Zone: "room-a"},
		{Name: "node-b1", Zone: "room-b"}, {Name: "node-b2", Zone: "room-b"}, {Name: "node-b3", Zone: "room-b"},
	}
}

func (o *Options) complete() {
	if len(o.Nodes) == 0 {
		o.Nodes = DefaultNodes()
	}
	if o.NodeMonitorGracePeriod == 0 {
		o.NodeMonitorGracePeriod = 50 * time.Second
	}
	if o.NodeMonitorPeriod == 0 {
		o.NodeMonitorPeriod = 5 * time.Second
	}
	if o.NodeLeaseDuration == 0 {
		o.NodeLeaseDuration = 40 * time.Second
	}
	if o.DefaultTolerationSeconds == 0 {
		o.DefaultTolerationSeconds = 300
	}
	if o.ControllerManagerQPS == 0 {
		o.ControllerManagerQPS = 20
	}
	if o.SchedulerQPS == 0 {
		o.SchedulerQPS = 50
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}
