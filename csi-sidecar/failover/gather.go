package failover

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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

// OptionsReader returns the options of every DRBD resource of this node,
// as `drbdsetup show --json` prints them.
type OptionsReader func(ctx context.Context) ([]drbdjson.ShowResource, error)

// Resources is this node's DRBD state; a state.Store is one.
type Resources interface {
	Synced() bool
	List() []*state.Resource
}

// gatherer builds the input of one decision: a snapshot of this node's
// DRBD state, the cluster view and the lost peers' signs of life. It
// changes nothing in the cluster. It owns the caches that spare a
// drbdsetup or API call per evaluation, and drops what they hold as soon
// as the DRBD state says it may be outdated.
type gatherer struct {
	node                string
	peerNode            func(string) string
	timeout, hysteresis time.Duration
	evidenceGrace       time.Duration
	attacherGrace       time.Duration
	taints              TaintKeys
	reportStaleAfter    time.Duration

	resources   Resources
	view        *clusterview.View
	reports     report.Client
	liveness    *liveness.Observer
	readOptions OptionsReader
	metrics     *metrics.Metrics
	conflicts   Conflicts

	// quorum caches whether a resource runs with quorum: DRBD's options
	// change only through drbdsetup, and reading them costs a process.
	quorum map[string]bool
	// established records the resources that have had an UpToDate
	// replica since this node knows them.
	established map[string]bool
	// lossSeen are the resources that had a lost peer or no quorum at
	// the last gathering.
	lossSeen map[string]bool
	// reportsSeen judge lost peers' report heartbeats by this node's
	// clock.
	reportsSeen *liveness.Sightings
	// peerReports are the lost peers' reports as last read (see
	// readPeerReport).
	peerReports map[string]peerReportRead
	// notReadySince is when each node was first seen NotReady here.
	notReadySince map[string]time.Time
	// deletingSince is when each attachment was first seen being
	// deleted here, by its UID.
	deletingSince map[types.UID]time.Time
	// optionsStale asks the next gathering to drop every cached option.
	optionsStale atomic.Bool
}

func newGatherer(opts ControllerOptions, resources Resources, view *clusterview.View, reports report.Client, m *metrics.Metrics) *gatherer {
	return &gatherer{
		node: opts.Node, peerNode: opts.PeerNode, timeout: opts.Timeout, hysteresis: opts.Hysteresis, evidenceGrace: opts.EvidenceGrace, attacherGrace: opts.AttacherGrace, reportStaleAfter: opts.ReportStaleAfter, taints: opts.Taints,
		resources: resources, view: view, reports: reports, liveness: opts.Liveness, readOptions: opts.ReadOptions, metrics: m, conflicts: opts.Conflicts,
		quorum: map[string]bool{}, established: map[string]bool{}, lossSeen: map[string]bool{}, notReadySince: map[string]time.Time{}, reportsSeen: liveness.NewSightings(), peerReports: map[string]peerReportRead{},
		deletingSince: map[types.UID]time.Time{},
	}
}

// ForgetOptions makes the next gathering read every resource's options
// again; it is safe to call from any goroutine. A restarted DRBD stream
// may hide a resource that was taken down and set up again with other
// options.
func (g *gatherer) ForgetOptions() { g.optionsStale.Store(true) }

// gather returns the input of a decision; memory is what the controller
// remembers from the last one.
func (g *gatherer) gather(ctx context.Context, now time.Time, memory decisionMemory) Input {
	in := Input{
		Now: now, Node: g.node, Synced: g.resources.Synced() && g.view.Synced(),
		Timeout: g.timeout, Taints: g.taints, Hysteresis: g.hysteresis, EvidenceGrace: g.evidenceGrace, AttacherGrace: g.attacherGrace, PeerNode: g.peerNode, LostSince: memory.lostSince, HealthySince: memory.healthySince,
		Nodes: map[string]NodeState{},
	}
	if g.conflicts != nil {
		// Until the other actor's pods are listed, that none is seen
		// proves nothing.
		in.Synced = in.Synced && g.conflicts.Synced()
		in.ConflictingActors = g.conflicts.Pods()
	}
	if g.optionsStale.Swap(false) {
		clear(g.quorum)
	}
	resources := g.resources.List()
	g.invalidate(resources)
	g.countResources(resources)
	localPods := g.view.LocalPods()
	peerPods := map[string][]*corev1.Pod{}
	deleting := map[types.UID]bool{}
	for _, r := range resources {
		if r.UpToDate() || len(r.UpToDatePeers()) > 0 {
			g.established[r.Name] = true
		}
		v := Volume{DRBD: r, QuorumConfigured: g.quorumConfigured(ctx, r.Name), Established: g.established[r.Name]}
		if !g.addKubernetes(ctx, &v, localPods, peerPods) {
			in.Synced = false
		}
		g.stampDeleting(now, v.Attachments, deleting)
		in.Volumes = append(in.Volumes, v)
	}
	for uid := range g.deletingSince {
		if !deleting[uid] {
			delete(g.deletingSince, uid)
		}
	}
	lostPeers := g.peersToJudge(in.Volumes)
	for _, v := range in.Volumes {
		for _, conn := range v.DRBD.Connections {
			peer := g.peerNode(conn.Name)
			if !g.nodeState(ctx, in.Nodes, peer, lostPeers[peer]) {
				in.Synced = false
			}
		}
	}
	g.nodeState(ctx, in.Nodes, g.node, false)
	for node := range g.notReadySince {
		if st, ok := in.Nodes[node]; !ok || st.Ready {
			delete(g.notReadySince, node)
		}
	}
	g.reportsSeen.Retain(func(node string) bool { return lostPeers[node] })
	if g.liveness != nil {
		g.liveness.Retain(func(node string) bool { return lostPeers[node] })
	}
	return in
}

// invalidate drops the cache entries of resources that are gone, and the
// options of a resource whose trouble (a lost peer, lost quorum) just
// began: a decision to act on it must not rest on options read before an
// operator changed them.
func (g *gatherer) invalidate(resources []*state.Resource) {
	present := make(map[string]bool, len(resources))
	for _, r := range resources {
		present[r.Name] = true
		troubled := len(r.DisconnectedPeers()) > 0 || !r.HasQuorum()
		if troubled && !g.lossSeen[r.Name] {
			delete(g.quorum, r.Name)
		}
		if troubled {
			g.lossSeen[r.Name] = true
		} else {
			delete(g.lossSeen, r.Name)
		}
	}
	for _, cache := range []map[string]bool{g.quorum, g.established, g.lossSeen} {
		for name := range cache {
			if !present[name] {
				delete(cache, name)
			}
		}
	}
}

// stampDeleting sets, on the attachments being deleted, when this node
// first saw them so, and notes their UIDs in seen.
func (g *gatherer) stampDeleting(now time.Time, vas []Attachment, seen map[types.UID]bool) {
	for i := range vas {
		va := &vas[i]
		if !va.Deleting {
			continue
		}
		since, ok := g.deletingSince[va.UID]
		if !ok {
			since = now
			g.deletingSince[va.UID] = since
		}
		va.DeletingSince = since
		seen[va.UID] = true
	}
}

// addKubernetes adds the PV, attachments and pods of v's resource. Only the
// node that would act on a lost peer's pods, or say why nobody can, lists
// them. It reports false when a list failed, so that nothing is decided on
// what is missing.
func (g *gatherer) addKubernetes(ctx context.Context, v *Volume, localPods []*corev1.Pod, peerPods map[string][]*corev1.Pod) bool {
	pv := g.view.PV(v.DRBD.Name)
	if pv == nil {
		return true
	}
	v.PV = pv.Name
	for _, va := range g.view.Attachments(pv.Name) {
		v.Attachments = append(v.Attachments, Attachment{
			Name: va.Name, UID: va.UID, Node: va.Spec.NodeName, Attached: va.Status.Attached,
			Deleting: va.DeletionTimestamp != nil, AttacherFinalizer: slices.Contains(va.Finalizers, AttacherFinalizer),
		})
	}
	ref := pv.Spec.ClaimRef
	if ref == nil {
		return true
	}
	complete := true
	pods := localPods
	if g.mayAct(v.DRBD) {
		for _, conn := range v.DRBD.DisconnectedPeers() {
			peer := g.peerNode(conn.Name)
			if _, ok := peerPods[peer]; !ok && peer != g.node {
				list, err := g.view.PodsOn(ctx, peer)
				if err != nil {
					klog.FromContext(ctx).Error(err, "Failed to list pods", "node", peer)
					g.metrics.APIErrors.WithLabelValues("ListPods").Inc()
					complete = false
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
	return complete
}

// mayAct reports whether this node is the one that acts on r's lost peers,
// or the one that says why nobody can: only its decisions rest on what
// the lost peers' pods and signs of life are. A diskless tiebreaker may
// promote too, but never acts, and a survivor that another one leads
// leaves the resource to it.
func (g *gatherer) mayAct(r *state.Resource) bool {
	return couldTakeOver(r) && leadsAmong(g.node, r, g.peerNode) || explainsBlockedFailOver(g.node, r, g.peerNode)
}

// peersToJudge are the lost peers whose signs of life a decision may rest
// on: those that still run a pod or hold an attachment of a volume this
// node acts for. Only theirs are read; a peer that has nothing left to
// move costs no read, however often the evaluations that move the rest
// come.
func (g *gatherer) peersToJudge(volumes []Volume) map[string]bool {
	judge := map[string]bool{}
	for i := range volumes {
		v := &volumes[i]
		if !g.mayAct(v.DRBD) {
			continue
		}
		for _, conn := range v.DRBD.DisconnectedPeers() {
			peer := g.peerNode(conn.Name)
			if peer == g.node || judge[peer] {
				continue
			}
			if pods, vas := targetsOn(v, peer); len(pods) > 0 || len(vas) > 0 {
				judge[peer] = true
			}
		}
	}
	return judge
}

// couldTakeOver reports whether this node could take a lost peer's
// workload over: it holds UpToDate data and DRBD lets it promote.
func couldTakeOver(r *state.Resource) bool {
	return r.UpToDate() && r.CanPromote()
}

// countResources sets the resources-by-health and the lost-replicas
// gauges.
func (g *gatherer) countResources(resources []*state.Resource) {
	reports := make([]v1alpha1.ResourceReport, len(resources))
	lost := 0
	for i, r := range resources {
		reports[i] = report.Resource(r)
		lost += len(r.DisconnectedPeers())
	}
	g.metrics.LostPeerReplicas.Set(float64(lost))
	s := report.Summarize(reports)
	g.metrics.Resources.WithLabelValues("healthy").Set(float64(s.Healthy))
	g.metrics.Resources.WithLabelValues("degraded").Set(float64(s.Degraded))
	g.metrics.Resources.WithLabelValues("without-quorum").Set(float64(s.WithoutQuorum))
}

// nodeState adds what is known of a node: readiness and the taint, and for
// a lost peer its signs of life. It reports false when what it read is
// incomplete, so that nothing is decided on it.
func (g *gatherer) nodeState(ctx context.Context, nodes map[string]NodeState, name string, lost bool) bool {
	if _, ok := nodes[name]; ok || name == "" {
		return true
	}
	n := g.view.Node(name)
	if n == nil {
		return true
	}
	st := NodeState{
		Ready:          nodeReady(n),
		Tainted:        slices.ContainsFunc(n.Spec.Taints, isNoScheduleTaint(g.taints.LostQuorum)),
		IOErrorTainted: slices.ContainsFunc(n.Spec.Taints, isNoScheduleTaint(g.taints.ForceIOError)),
	}
	if !st.Ready {
		// By this node's clock, as every other sign: the condition's
		// transition time is the node lifecycle controller's.
		since, ok := g.notReadySince[name]
		if !ok {
			since = time.Now()
			g.notReadySince[name] = since
		}
		st.GoneSince = since
	}
	prefix := UniqueVolumeName("")
	for _, v := range n.Status.VolumesInUse {
		if handle, ok := strings.CutPrefix(string(v), prefix); ok {
			st.VolumesInUse = append(st.VolumesInUse, handle)
		}
	}
	complete := true
	if lost {
		complete = g.signsOfLife(ctx, name, &st)
	} else {
		st.SignsUnread = true
	}
	nodes[name] = st
	return complete
}

func nodeReady(n *corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// quorumConfigured tells whether the resource runs with quorum. A resource
// it does not know yet makes it read the options of every resource at
// once; a failure is retried next time, and until then the resource counts
// as without quorum: nothing happens to it.
func (g *gatherer) quorumConfigured(ctx context.Context, resource string) bool {
	if q, ok := g.quorum[resource]; ok {
		return q
	}
	if g.readOptions == nil {
		return false
	}
	show, err := g.readOptions(ctx)
	if err != nil {
		klog.FromContext(ctx).Error(err, "Failed to read the resource options", "resource", resource)
		return false
	}
	for _, r := range show {
		g.quorum[r.Resource] = r.Options.Quorum != "" && r.Options.Quorum != "off"
	}
	return g.quorum[resource]
}

func podOf(p *corev1.Pod) Pod {
	return Pod{
		Namespace: p.Namespace, Name: p.Name, UID: p.UID, Node: p.Spec.NodeName,
		Controlled:  metav1.GetControllerOf(p) != nil,
		OptOut:      metadata.IgnoresFailOver(p.Annotations),
		Terminating: p.DeletionTimestamp != nil,
	}
}
