package failover

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/clusterview"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/liveness"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/metrics"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/report"
	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdjson"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// ControllerOptions configure a Controller.
type ControllerOptions struct {
	Node string
	// Drbdsetup runs `show --json` and demotions.
	Drbdsetup string
	// Timeout is the fail-over timeout; Hysteresis delays removing this
	// node's taint; ReportStaleAfter is how long a peer's report counts
	// after this node saw its heartbeat change.
	Timeout, Hysteresis, ReportStaleAfter time.Duration
	// DryRun records what would be done and does nothing.
	DryRun bool
	// PeerNode maps a DRBD connection name to a node name.
	PeerNode func(string) string
	// Liveness reads lost peers' Leases; nil leaves a peer's report and
	// readiness as the only signs of its life.
	Liveness *liveness.Observer
}

// Controller turns DRBD and cluster changes into decisions and actions. It
// runs one evaluation at a time, triggered by events, never by polling.
type Controller struct {
	opts     ControllerOptions
	store    *state.Store
	view     *clusterview.View
	reports  report.Client
	executor *Executor
	recorder record.EventRecorder
	metrics  *metrics.Metrics

	trigger chan struct{}
	// reportsSeen judge lost peers' report heartbeats by this node's clock.
	reportsSeen *liveness.Sightings

	mu          sync.Mutex
	quorum      map[string]bool // resource -> quorum configured
	established map[string]bool
	lostSince   map[Key]time.Time
	healthy     time.Time
	done        map[string]bool // actions done for the current need
	refused     map[string]bool // refusals already recorded
	noticed     map[string]bool // notices already recorded
}

// NewController returns a controller.
func NewController(opts ControllerOptions, store *state.Store, view *clusterview.View, reports report.Client,
	executor *Executor, recorder record.EventRecorder, m *metrics.Metrics) *Controller {
	return &Controller{
		opts: opts, store: store, view: view, reports: reports, executor: executor, recorder: recorder, metrics: m,
		trigger: make(chan struct{}, 1), reportsSeen: liveness.NewSightings(), quorum: map[string]bool{}, established: map[string]bool{},
		lostSince: map[Key]time.Time{}, done: map[string]bool{}, refused: map[string]bool{}, noticed: map[string]bool{},
	}
}

// Trigger asks for an evaluation; it never blocks.
func (c *Controller) Trigger() {
	select {
	case c.trigger <- struct{}{}:
	default:
	}
}

// Run evaluates whenever triggered or when a waiting fail-over is due.
func (c *Controller) Run(ctx context.Context) error {
	var due <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.trigger:
		case <-due:
		}
		next := c.evaluate(ctx)
		due = nil
		if !next.IsZero() {
			due = time.After(time.Until(next))
		}
	}
}

// evaluate gathers the input, decides and acts; it returns when to look
// again even without a trigger.
func (c *Controller) evaluate(ctx context.Context) time.Time {
	logger := klog.FromContext(ctx)
	in := c.input(ctx)
	d := Decide(in)
	c.mu.Lock()
	c.lostSince, c.healthy = d.Lost, d.HealthySince
	c.mu.Unlock()

	needed := map[string]bool{}
	var pending []Action
	for _, a := range d.Actions {
		key := actionKey(a)
		needed[key] = true
		if !c.done[key] {
			pending = append(pending, a)
		}
	}
	failed := map[string]bool{} // resources with a failed action this round
	for _, phase := range phases {
		var batch []Action
		for _, a := range pending {
			if slices.Contains(phase.kinds, a.Kind) && !(phase.afterPods && failed[a.Resource]) {
				batch = append(batch, a)
			}
		}
		if phase.perNode {
			c.runPerNode(ctx, batch, d.Lost, failed)
			continue
		}
		c.runBatch(ctx, batch, phase.parallel, d.Lost, failed)
	}
	for key := range c.done {
		if !needed[key] {
			delete(c.done, key)
		}
	}
	c.refused = recordOnce(c.refused, d.Refusals, func(r Refusal) string {
		return r.Reason + "/" + r.Resource + "/" + r.Node + "/" + podUID(r.Pod)
	}, func(r Refusal) {
		logger.Info("Not failing over", "reason", r.Reason, "node", r.Node, "resource", r.Resource, "message", r.Message)
		c.metrics.Refusals.WithLabelValues(r.Reason).Inc()
		c.event(r.Pod, r.Node, corev1.EventTypeWarning, metadata.ReasonFailOverRefused, r.Reason+": "+r.Message)
	})
	c.noticed = recordOnce(c.noticed, d.Notices, func(n Notice) string {
		return n.Reason + "/" + n.Resource + "/" + n.Node
	}, func(n Notice) {
		logger.Info("Replica lost, nothing to fail over", "node", n.Node, "resource", n.Resource, "message", n.Message)
		c.event(nil, n.Node, corev1.EventTypeWarning, n.Reason, n.Message)
	})
	return d.NextCheck
}

// phases order the actions of one decision: the taint first, so that
// nothing new is scheduled there; then the pods; then, for volumes whose pods
// are all gone, what makes them detachable; demotions and untaints last.
// Pod and attachment calls of a phase run in parallel, and a node's volumes
// are released in one update: a node that ran 50 stateful pods must not
// fail them over one API round trip at a time.
var phases = []struct {
	kinds     []ActionKind
	parallel  bool
	perNode   bool
	afterPods bool
}{
	{kinds: []ActionKind{TaintNode}},
	{kinds: []ActionKind{DeletePod, EvictPod}, parallel: true},
	{kinds: []ActionKind{ReleaseVolume}, perNode: true, afterPods: true},
	{kinds: []ActionKind{DeleteAttachment, RemoveAttacherFinalizer}, parallel: true, afterPods: true},
	{kinds: []ActionKind{Demote, UntaintNode}, afterPods: true},
}

// parallelActions bounds the API calls in flight for one phase.
const parallelActions = 16

// runBatch performs a phase's actions and records the resources of those
// that failed.
func (c *Controller) runBatch(ctx context.Context, batch []Action, parallel bool, lost map[Key]time.Time, failed map[string]bool) {
	workers := 1
	if parallel {
		workers = parallelActions
	}
	var mu sync.Mutex
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for _, a := range batch {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ok := c.perform(ctx, a, lost)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				c.done[actionKey(a)] = true
			} else {
				failed[a.Resource] = true
			}
		}()
	}
	wg.Wait()
}

// runPerNode releases the volumes of each node's ReleaseVolume actions in
// one call, and records every action with its outcome.
func (c *Controller) runPerNode(ctx context.Context, batch []Action, lost map[Key]time.Time, failed map[string]bool) {
	byNode := map[string][]Action{}
	for _, a := range batch {
		byNode[a.Node] = append(byNode[a.Node], a)
	}
	for node, actions := range byNode {
		var err error
		if !c.opts.DryRun {
			handles := make([]string, len(actions))
			for i, a := range actions {
				handles[i] = a.Resource
			}
			err = c.executor.ReleaseVolumes(ctx, node, handles)
		}
		for _, a := range actions {
			if c.record(ctx, a, err, lost) {
				c.done[actionKey(a)] = true
			} else {
				failed[a.Resource] = true
			}
		}
	}
}

// perform does one action (or, in dry-run mode, says it would) and records
// it; it reports whether the action is done.
func (c *Controller) perform(ctx context.Context, a Action, lost map[Key]time.Time) bool {
	var err error
	if !c.opts.DryRun {
		err = c.executor.Do(ctx, a)
	}
	return c.record(ctx, a, err, lost)
}

// record logs, counts and reports an action that was done, failed with
// err, or in dry-run mode would have been done; it reports whether the
// action is done.
func (c *Controller) record(ctx context.Context, a Action, err error, lost map[Key]time.Time) bool {
	logger := klog.FromContext(ctx)
	if c.opts.DryRun {
		logger.Info("Dry run: would act", "action", a.Kind, "node", a.Node, "resource", a.Resource, "message", a.Message)
		c.event(a.Pod, a.Node, corev1.EventTypeNormal, metadata.ReasonFailOverDryRun, fmt.Sprintf("would %s: %s", a.Kind, a.Message))
		c.metrics.Actions.WithLabelValues(string(a.Kind), "dry-run").Inc()
		return true
	}
	if err != nil {
		logger.Error(err, "Failed to act", "action", a.Kind, "node", a.Node, "resource", a.Resource)
		c.metrics.Actions.WithLabelValues(string(a.Kind), "failed").Inc()
		c.metrics.APIErrors.WithLabelValues(string(a.Kind)).Inc()
		c.Trigger()
		return false
	}
	logger.Info("Acted", "action", a.Kind, "node", a.Node, "resource", a.Resource, "message", a.Message)
	c.metrics.Actions.WithLabelValues(string(a.Kind), "done").Inc()
	if since, ok := lost[Key{Resource: a.Resource, Node: a.Node}]; ok && a.Kind == DeletePod {
		c.metrics.DetectionToAction.Observe(time.Since(since).Seconds())
	}
	c.event(a.Pod, a.Node, corev1.EventTypeNormal, a.Reason, a.Message)
	return true
}

// actionKey identifies an action for the current need; a graceful deletion
// that turns into a forced one is a new action.
func actionKey(a Action) string {
	return fmt.Sprintf("%s/%s/%s/%s/%s/%v", a.Kind, a.Resource, a.Node, podUID(a.Pod), a.Attachment, a.GraceZero)
}

func podUID(p *Pod) string {
	if p == nil {
		return ""
	}
	return string(p.UID)
}

// event records an Event on the pod, or else on the node.
func (c *Controller) event(p *Pod, node, typ, reason, msg string) {
	var obj runtime.Object = &corev1.ObjectReference{Kind: "Node", Name: node, UID: types.UID(node), APIVersion: "v1"}
	if p != nil {
		obj = &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID, APIVersion: "v1"}
	}
	c.recorder.Event(obj, typ, reason, msg)
}

// input gathers everything Decide needs.
func (c *Controller) input(ctx context.Context) Input {
	c.mu.Lock()
	lost := c.lostSince
	healthy := c.healthy
	c.mu.Unlock()
	in := Input{
		Now: time.Now(), Node: c.opts.Node, Synced: c.store.Synced() && c.view.Synced(),
		Timeout: c.opts.Timeout, Hysteresis: c.opts.Hysteresis, PeerNode: c.opts.PeerNode,
		LostSince: lost, HealthySince: healthy, Nodes: map[string]NodeState{},
	}
	localPods := c.view.LocalPods()
	peerPods := map[string][]*corev1.Pod{}
	resources := c.store.List()
	c.countResources(resources)
	lostPeers := c.lostPeers(resources)
	for _, r := range resources {
		if r.UpToDate() || len(r.UpToDatePeers()) > 0 {
			c.established[r.Name] = true
		}
		v := Volume{DRBD: r, QuorumConfigured: c.quorumConfigured(ctx, r.Name), Established: c.established[r.Name]}
		pv := c.view.PV(r.Name)
		if pv != nil {
			v.PV = pv.Name
			for _, va := range c.view.Attachments(pv.Name) {
				v.Attachments = append(v.Attachments, Attachment{
					Name: va.Name, UID: va.UID, Node: va.Spec.NodeName, Attached: va.Status.Attached,
					Deleting: va.DeletionTimestamp != nil, AttacherFinalizer: slices.Contains(va.Finalizers, AttacherFinalizer),
				})
			}
			if ref := pv.Spec.ClaimRef; ref != nil {
				pods := localPods
				if r.CanPromote() {
					// Only a node that may take over looks at the pods
					// of its lost peers.
					for _, conn := range r.DisconnectedPeers() {
						peer := c.opts.PeerNode(conn.Name)
						if _, ok := peerPods[peer]; !ok && peer != c.opts.Node {
							list, err := c.view.PodsOn(ctx, peer)
							if err != nil {
								klog.FromContext(ctx).Error(err, "Failed to list pods", "node", peer)
								c.metrics.APIErrors.WithLabelValues("ListPods").Inc()
								in.Synced = false
							}
							peerPods[peer] = list
						}
						pods = append(pods, peerPods[peer]...)
					}
				}
				for _, p := range pods {
					if clusterview.UsesClaim(p, ref.Namespace, ref.Name) {
						v.Pods = append(v.Pods, podOf(p))
					}
				}
			}
		}
		in.Volumes = append(in.Volumes, v)
		for _, conn := range r.Connections {
			peer := c.opts.PeerNode(conn.Name)
			if !c.nodeState(ctx, in.Nodes, peer, lostPeers[peer]) {
				in.Synced = false
			}
		}
	}
	c.nodeState(ctx, in.Nodes, c.opts.Node, false)
	c.reportsSeen.Retain(func(node string) bool { return lostPeers[node] })
	if c.opts.Liveness != nil {
		c.opts.Liveness.Retain(func(node string) bool { return lostPeers[node] })
	}
	return in
}

// lostPeers are the peers that this node lost for some resource: only
// their signs of life matter to a decision, so only theirs are read.
func (c *Controller) lostPeers(resources []*state.Resource) map[string]bool {
	lost := map[string]bool{}
	for _, r := range resources {
		for _, conn := range r.DisconnectedPeers() {
			if peer := c.opts.PeerNode(conn.Name); peer != c.opts.Node {
				lost[peer] = true
			}
		}
	}
	return lost
}

// countResources sets the resources-by-health and the lost-replicas
// gauges.
func (c *Controller) countResources(resources []*state.Resource) {
	reports := make([]v1alpha1.ResourceReport, len(resources))
	lost := 0
	for i, r := range resources {
		reports[i] = report.Resource(r)
		lost += len(r.DisconnectedPeers())
	}
	c.metrics.LostPeerReplicas.Set(float64(lost))
	s := report.Summarize(reports)
	c.metrics.Resources.WithLabelValues("healthy").Set(float64(s.Healthy))
	c.metrics.Resources.WithLabelValues("degraded").Set(float64(s.Degraded))
	c.metrics.Resources.WithLabelValues("without-quorum").Set(float64(s.WithoutQuorum))
}

// recordOnce records each item whose key was not in recorded, and returns
// the keys of items: a refusal or notice that lasts is recorded once, and
// once more if it goes away and comes back.
func recordOnce[T any](recorded map[string]bool, items []T, key func(T) string, record func(T)) map[string]bool {
	now := make(map[string]bool, len(items))
	for _, it := range items {
		k := key(it)
		if !recorded[k] && !now[k] {
			record(it)
		}
		now[k] = true
	}
	return now
}

func podOf(p *corev1.Pod) Pod {
	return Pod{
		Namespace: p.Namespace, Name: p.Name, UID: p.UID, Node: p.Spec.NodeName,
		Controlled:  metav1.GetControllerOf(p) != nil,
		OptOut:      metadata.IgnoresFailOver(p.Annotations),
		Terminating: p.DeletionTimestamp != nil,
	}
}

// nodeState adds what is known of a node: readiness and the taint, and for
// a lost peer its signs of life: its own report if that is fresh and
// synced, and its Lease. It reports false when what it read is incomplete,
// so that nothing is decided on it.
func (c *Controller) nodeState(ctx context.Context, nodes map[string]NodeState, name string, lost bool) bool {
	if _, ok := nodes[name]; ok || name == "" {
		return true
	}
	n := c.view.Node(name)
	if n == nil {
		return true
	}
	st := NodeState{Ready: nodeReady(n), Tainted: slices.ContainsFunc(n.Spec.Taints, isLostQuorumTaint)}
	prefix := UniqueVolumeName("")
	for _, v := range n.Status.VolumesInUse {
		if handle, ok := strings.CutPrefix(string(v), prefix); ok {
			st.VolumesInUse = append(st.VolumesInUse, handle)
		}
	}
	complete := true
	if lost {
		complete = c.signsOfLife(ctx, name, &st)
	}
	nodes[name] = st
	return complete
}

// signsOfLife reads a lost peer's report and Lease. A report that is not
// there counts as gone; one that cannot be read leaves the view incomplete
// (false), and a Lease that cannot be read proves nothing. A report is
// fresh until its heartbeat has stayed the same for ReportStaleAfter by
// this node's clock: a peer whose clock runs behind is not taken for gone.
func (c *Controller) signsOfLife(ctx context.Context, name string, st *NodeState) bool {
	logger := klog.FromContext(ctx)
	now := time.Now()
	rr, err := c.reports.Get(ctx, name)
	switch {
	case apierrors.IsNotFound(err):
		rr = nil
		c.reportsSeen.Forget(name)
	case err != nil:
		logger.Error(err, "Failed to read a peer's replica report", "node", name)
		c.metrics.APIErrors.WithLabelValues("GetReport").Inc()
		// Staleness must be seen across reads that succeed.
		c.reportsSeen.Forget(name)
		return false
	case !rr.Status.Synced:
		c.reportsSeen.Forget(name)
	default:
		if until := c.reportsSeen.See(name, rr.Status.HeartbeatTime.Time, now, c.opts.ReportStaleAfter); now.Before(until) {
			st.Report = &PeerReport{Quorum: map[string]bool{}}
			for _, res := range rr.Status.Resources {
				st.Report.Quorum[res.Name] = res.Quorum
			}
			st.AliveUntil = until
		}
	}
	if c.opts.Liveness == nil {
		return true
	}
	v, err := c.opts.Liveness.Check(ctx, name, now)
	if err != nil {
		logger.Error(err, "Failed to read a peer's liveness lease", "node", name)
		c.metrics.APIErrors.WithLabelValues("GetLease").Inc()
		return true
	}
	if rr != nil && v.Abandoned(rr.Status.HeartbeatTime.Time) {
		logger.V(2).Info("Ignoring an abandoned liveness lease", "node", name)
		return true
	}
	st.Silent = v.Silent
	if !v.AliveUntil.IsZero() && (st.AliveUntil.IsZero() || v.AliveUntil.Before(st.AliveUntil)) {
		st.AliveUntil = v.AliveUntil
	}
	return true
}

func nodeReady(n *corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// quorumConfigured tells whether the resource runs with quorum, from
// drbdsetup show. A resource it does not know yet makes it read the options
// of every resource at once; a failure is retried next time, and until then
// the resource counts as without quorum: nothing happens to it.
func (c *Controller) quorumConfigured(ctx context.Context, resource string) bool {
	if q, ok := c.quorum[resource]; ok {
		return q
	}
	out, err := exec.CommandContext(ctx, c.opts.Drbdsetup, "show", "--json").Output()
	if err != nil {
		klog.FromContext(ctx).Error(err, "Failed to read the resource options", "resource", resource)
		return false
	}
	var show []drbdjson.ShowResource
	if err := json.Unmarshal(out, &show); err != nil {
		klog.FromContext(ctx).Error(err, "Failed to parse drbdsetup show --json")
		return false
	}
	for _, r := range show {
		c.quorum[r.Resource] = r.Options.Quorum != "" && r.Options.Quorum != "off"
	}
	return c.quorum[resource]
}
