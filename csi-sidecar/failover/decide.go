package failover

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/pkg/protection"
)

// Refusal reasons, besides the Event reasons of package metadata.
const (
	RefusedNotSynced         = "NotSynced"
	RefusedQuorumOff         = "QuorumNotConfigured"
	RefusedNotEstablished    = "ResourceNotEstablished"
	RefusedPeerMayStillWrite = "PeerMayStillWrite"
	RefusedOptOut            = "OptedOut"
	RefusedNoController      = "NoController"
	// RefusedSurvivorsWithoutQuorum: the replicas left after the loss
	// have no quorum, so none of them may promote.
	RefusedSurvivorsWithoutQuorum = "SurvivorsWithoutQuorum"
	// RefusedNoUpToDateSurvivor: the replicas left have quorum, but none
	// of them holds UpToDate data to promote.
	RefusedNoUpToDateSurvivor = "NoUpToDateSurvivor"
)

// Decide returns what to do now. It never acts on a resource that has no
// quorum configured, that is still being created, or before the DRBD stream
// and the Kubernetes caches are synced; it never deletes a pod that opted
// out or has no controller to replace it; and it does nothing at all while
// another fail-over actor runs.
func Decide(in Input) Decision {
	d := Decision{Lost: make(map[Key]time.Time)}
	for i := range in.Volumes {
		v := &in.Volumes[i]
		if v.DRBD == nil {
			continue
		}
		decidePeers(&in, v, &d)
		decideOwnQuorum(&in, v, &d)
		decideFailingIO(&in, v, &d)
	}
	decideUntaint(&in, &d)
	decideIOErrorUntaint(&in, &d)
	holdForConflictingActors(&in, &d)
	return d
}

// taint asks for the NoSchedule taint key on node, once per decision
// whatever the number of resources, unless the node has it already or the
// key is turned off.
func (d *Decision) taint(key, node, resource, reason, message string, has bool) {
	if key == "" || has || slices.ContainsFunc(d.Actions, func(a Action) bool {
		return a.Kind == TaintNode && a.Node == node && a.Taint == key
	}) {
		return
	}
	d.act(Action{Kind: TaintNode, Taint: key, Resource: resource, Node: node, Reason: reason, Message: message})
}

// targetsOn returns the pods of v on node and its attachments there.
func targetsOn(v *Volume, node string) ([]*Pod, []*Attachment) {
	var pods []*Pod
	var vas []*Attachment
	for i := range v.Pods {
		if v.Pods[i].Node == node {
			pods = append(pods, &v.Pods[i])
		}
	}
	for i := range v.Attachments {
		if v.Attachments[i].Node == node {
			vas = append(vas, &v.Attachments[i])
		}
	}
	return pods, vas
}

// decidePeers handles peers of v that this node lost while the volume is in
// use on their node.
func decidePeers(in *Input, v *Volume, d *Decision) {
	r := v.DRBD
	for _, c := range r.Connections {
		if c.Connected() {
			continue
		}
		peer := in.PeerNode(c.Name)
		if peer == "" || peer == in.Node {
			continue
		}
		pods, vas := targetsOn(v, peer)
		if len(pods) == 0 && len(vas) == 0 {
			noticeDegraded(in, v, peer, d)
			continue
		}
		refuse := func(reason, msg string) {
			d.refuse(Refusal{Resource: r.Name, Node: peer, Reason: reason, Message: msg})
		}
		switch {
		case !in.Synced:
			refuse(RefusedNotSynced, "the DRBD state or the Kubernetes view is not complete yet")
			continue
		case !v.QuorumConfigured:
			refuse(RefusedQuorumOff, fmt.Sprintf("resource %s runs without quorum: losing %s proves nothing", r.Name, peer))
			continue
		case !v.Established:
			refuse(RefusedNotEstablished, fmt.Sprintf("resource %s never had an UpToDate replica here: it may still be being created", r.Name))
			continue
		case blockedBy(r) != "":
			explainBlocked(in, v, peer, pods, d)
			continue
		case !r.CanPromote() || !leads(in, r):
			// This node cannot take over, or another survivor acts:
			// one sidecar per partition keeps actions and Events single.
			continue
		}
		// The timeout runs from the first sign of the loss, while the
		// evidence below may still be on its way.
		key := Key{Resource: r.Name, Node: peer}
		if !d.lostLongEnough(in, key, in.Nodes[peer].GoneSince) {
			continue
		}
		evidence, ok := peerCannotWrite(in, r.Name, peer)
		if !ok {
			// Going silent is evidence that arrives without an
			// event: look again when the signs of life run out.
			if until := in.Nodes[peer].AliveUntil; !until.IsZero() {
				d.wakeAt(until)
			}
			// Waiting for evidence is no refusal yet: it becomes
			// one once the grace for it passed too.
			if final := d.Lost[key].Add(in.Timeout + in.EvidenceGrace); in.Now.Before(final) {
				d.wakeAt(final)
				continue
			}
			refuse(RefusedPeerMayStillWrite, fmt.Sprintf("%s is disconnected from %s but nothing shows it cannot write: %s", peer, in.Node, evidence))
			continue
		}
		failOver(in, v, peer, evidence, pods, vas, d)
	}
}

// blockedBy returns why no replica that this node is connected to may
// promote r, "" when one may. The replicas connected to each other see the
// same peers: without quorum here, none of them has it; with quorum, one
// of them may promote if it holds UpToDate data. A node that has quorum
// and data but may not promote for another reason (another Primary) is not
// blocked by the loss.
func blockedBy(r *state.Resource) string {
	switch {
	case len(r.Devices) == 0:
		// Not set up here: this node knows nothing of the resource's
		// quorum.
		return ""
	case !r.HasQuorum():
		return RefusedSurvivorsWithoutQuorum
	case !r.UpToDate() && len(r.UpToDatePeers()) == 0:
		return RefusedNoUpToDateSurvivor
	}
	return ""
}

// explainsBlockedFailOver reports whether this node is the one survivor
// that says why r cannot fail over: no survivor may promote it, and this
// node has the lowest name among itself and the peers it is connected to.
// Every survivor of a partition sees the same set, so one of them says it,
// whatever its kind; the gatherer reads a lost peer's pods and signs of
// life for it as for the node that would fail over.
func explainsBlockedFailOver(node string, r *state.Resource, peerNode func(string) string) bool {
	if blockedBy(r) == "" {
		return false
	}
	for _, c := range r.Connections {
		if c.Connected() && peerNode(c.Name) < node {
			return false
		}
	}
	return true
}

// explainBlocked records, once the loss of peer has lasted the timeout
// and something besides DRBD shows that peer cannot write, why the volume
// in use there cannot fail over: on each of its pods there and on the
// peer's node. The Event names the lost replicas, the rule that stops the
// fail-over and what would have let the volume survive. Without such
// evidence this node may be the one cut off while the peer's side keeps
// quorum and runs on: it says nothing.
func explainBlocked(in *Input, v *Volume, peer string, pods []*Pod, d *Decision) {
	r := v.DRBD
	if !explainsBlockedFailOver(in.Node, r, in.PeerNode) {
		return
	}
	key := Key{Resource: r.Name, Node: peer}
	if !d.lostLongEnough(in, key, in.Nodes[peer].GoneSince) {
		return
	}
	evidence, ok := peerCannotWrite(in, r.Name, peer)
	if !ok {
		if until := in.Nodes[peer].AliveUntil; !until.IsZero() {
			d.wakeAt(until)
		}
		return
	}
	reason := blockedBy(r)
	msg := blockedMessage(in, v, peer, evidence)
	for _, p := range pods {
		d.refuse(Refusal{Resource: r.Name, Node: peer, Pod: p, Reason: reason, Message: msg})
	}
	d.refuse(Refusal{Resource: r.Name, Node: peer, Reason: reason, Message: msg})
}

// blockedMessage says, in operators' words, which replicas this node's
// DRBD lost, why no survivor can take over, and what placement would have
// survived the loss: pkg/protection judges the loss by DRBD's quorum
// rule. Decide knows no zones, so the loss is named by its nodes.
func blockedMessage(in *Input, v *Volume, peer, evidence string) string {
	r := v.DRBD
	volume := "volume " + r.Name
	if v.PV != "" && v.PV != r.Name {
		volume = fmt.Sprintf("volume %s (DRBD resource %s)", v.PV, r.Name)
	}
	replicas := []protection.Replica{{Node: in.Node, Diskful: !allClients(r), UpToDate: r.UpToDate()}}
	left := []string{in.Node}
	var lost, lostNodes []string
	for i := range r.Connections {
		c := &r.Connections[i]
		node := in.PeerNode(c.Name)
		diskful := !peerClient(c)
		replicas = append(replicas, protection.Replica{Node: node, Diskful: diskful, UpToDate: c.UpToDate()})
		if c.Connected() {
			left = append(left, node)
			continue
		}
		kind := "diskful replica"
		if !diskful {
			kind = "tiebreaker"
		}
		lost = append(lost, fmt.Sprintf("the %s on %s", kind, node))
		lostNodes = append(lostNodes, node)
	}
	slices.Sort(left)
	why := fmt.Sprintf("DRBD on %s shows no quorum for it", in.Node)
	if blockedBy(r) == RefusedNoUpToDateSurvivor {
		why = fmt.Sprintf("none of the replicas left (%s) holds UpToDate data", strings.Join(left, ", "))
	}
	// The analysis explains the rule and the fix; should it ever disagree
	// with what DRBD shows, DRBD's word stands alone.
	if o, survives := protection.AfterLoss(replicas, lostNodes); !survives && o.Message != "" {
		why = o.Message
	}
	msg := fmt.Sprintf("%s cannot fail over from %s (%s): DRBD on %s lost %s, and no replica left may promote it; %s. Its pods on %s stay as they are until a lost replica is back; `kubectl linstor-ha status %s` shows what to change",
		volume, peer, evidence, in.Node, strings.Join(lost, " and "), why, peer, r.Name)
	return truncate(msg, maxEventMessage)
}

// maxEventMessage keeps a message within what the API server takes for an
// Event's note.
const maxEventMessage = 1000

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// allClients reports whether every local device of r is intentionally
// diskless (a tiebreaker or a diskless client).
func allClients(r *state.Resource) bool {
	for i := range r.Devices {
		if !r.Devices[i].Client {
			return false
		}
	}
	return len(r.Devices) > 0
}

// peerClient reports whether the peer is intentionally diskless for every
// volume, as DRBD last saw it.
func peerClient(c *state.Connection) bool {
	for i := range c.PeerDevices {
		if !c.PeerDevices[i].PeerClient {
			return false
		}
	}
	return len(c.PeerDevices) > 0
}

// noticeDegraded says, once the loss has lasted the timeout, that a lost
// peer leaves the resource degraded although nothing needs to move: a
// tiebreaker or an idle replica is gone. One survivor says it.
func noticeDegraded(in *Input, v *Volume, peer string, d *Decision) {
	r := v.DRBD
	if !in.Synced || !v.QuorumConfigured || !v.Established || !r.HasQuorum() || !leads(in, r) {
		return
	}
	if !d.lostLongEnough(in, Key{Resource: r.Name, Node: peer}, in.Nodes[peer].GoneSince) {
		return
	}
	d.notice(Notice{Resource: r.Name, Node: peer, Reason: metadata.ReasonReplicaDegraded,
		Message: fmt.Sprintf("DRBD on %s lost %s's replica of %s; the resource keeps quorum and nothing of it runs on %s", in.Node, peer, r.Name, peer)})
}

// leads reports whether this node is the one survivor that acts for the
// resource: it holds UpToDate data and its name is the lowest among the
// connected peers that hold UpToDate data too. Every survivor of a
// partition sees the same set, so exactly one of them acts.
func leads(in *Input, r *state.Resource) bool {
	return leadsAmong(in.Node, r, in.PeerNode)
}

// leadsAmong is leads for node, whose peers' node names peerNode gives.
func leadsAmong(node string, r *state.Resource, peerNode func(string) string) bool {
	if !r.UpToDate() {
		return false
	}
	for _, c := range r.UpToDatePeers() {
		if peerNode(c.Name) < node {
			return false
		}
	}
	return true
}

// peerCannotWrite looks for evidence, besides this node's DRBD, that the
// peer cannot write the resource: its node is NotReady, its report is gone
// stale, its sidecar stopped renewing its Lease, or its report says it lost
// quorum. DRBD lets a partition with half of the diskful replicas keep
// quorum through a tiebreaker, so may_promote here alone does not prove
// the peer frozen. It returns the evidence, or why there is none.
func peerCannotWrite(in *Input, resource, peer string) (string, bool) {
	n, known := in.Nodes[peer]
	switch {
	case !known:
		return "its node is unknown to the API server", true
	case !n.Ready:
		return "its node is NotReady", true
	case n.SignsUnread:
		return "its signs of life were not read", false
	case n.Silent:
		return "its sidecar stopped renewing its liveness Lease", true
	case n.Report == nil:
		return "its replica report went stale", true
	}
	if q, ok := n.Report.Quorum[resource]; ok && !q {
		return "its own report says it lost quorum", true
	}
	return "its node is Ready and its own report says it has quorum", false
}

// kubeletGone reports whether no kubelet will confirm a pod's deletion on
// the node: the node is NotReady, or its sidecar stopped renewing its
// report or its Lease, which a node that lost power does long before the
// node lifecycle controller notices. Such pods are deleted with grace
// period 0.
func kubeletGone(n NodeState) bool {
	return !n.Ready || !n.SignsUnread && (n.Report == nil || n.Silent)
}

func failOver(in *Input, v *Volume, peer, evidence string, pods []*Pod, vas []*Attachment, d *Decision) {
	r := v.DRBD
	node := in.Nodes[peer]
	d.taint(in.Taints.LostQuorum, peer, r.Name, metadata.ReasonNodeTainted,
		fmt.Sprintf("DRBD on %s lost %s for resource %s, and %s", in.Node, peer, r.Name, evidence), node.Tainted)
	deletedAll := true
	for _, p := range pods {
		switch {
		case p.OptOut:
			deletedAll = false
			d.refuse(Refusal{Resource: r.Name, Node: peer, Pod: p, Reason: RefusedOptOut, Message: "the pod opted out of fail-over"})
		case !p.Controlled:
			deletedAll = false
			d.refuse(Refusal{Resource: r.Name, Node: peer, Pod: p, Reason: RefusedNoController, Message: "no controller would replace the pod; delete it yourself to move it"})
		default:
			d.act(Action{Kind: DeletePod, Resource: r.Name, Node: peer, Pod: p, GraceZero: kubeletGone(node), Reason: metadata.ReasonPodForceDeleted,
				Message: fmt.Sprintf("%s cannot write %s (DRBD on %s may promote it; %s): deleted so that it restarts with its data", peer, r.Name, in.Node, evidence)})
		}
	}
	if !deletedAll {
		// The attachment stays while a pod that stays uses it.
		return
	}
	if kubeletGone(node) && slices.Contains(node.VolumesInUse, r.Name) {
		d.act(Action{Kind: ReleaseVolume, Resource: r.Name, Node: peer, Reason: metadata.ReasonVolumeAttachmentRemoved,
			Message: fmt.Sprintf("%s is gone: volume %s is not mounted there any more", peer, v.PV)})
	}
	for _, va := range vas {
		if !va.Deleting {
			d.act(Action{Kind: DeleteAttachment, Resource: r.Name, Node: peer, Attachment: va.Name, PV: v.PV, Reason: metadata.ReasonVolumeAttachmentRemoved,
				Message: fmt.Sprintf("volume %s is detachable from %s", v.PV, peer)})
			continue
		}
		if va.AttacherFinalizer && kubeletGone(node) {
			// A live attacher lets the attachment go by itself; it
			// gets the grace first, and only then is it helped.
			if due := va.DeletingSince.Add(in.AttacherGrace); in.Now.Before(due) {
				d.wakeAt(due)
				continue
			}
			d.act(Action{Kind: RemoveAttacherFinalizer, Resource: r.Name, Node: peer, Attachment: va.Name, Reason: metadata.ReasonVolumeAttachmentRemoved,
				Message: fmt.Sprintf("%s is gone: the attacher cannot detach %s from it", peer, v.PV)})
		}
	}
}

// decideOwnQuorum handles a volume in use here whose quorum this node lost
// for longer than the timeout: taint the node, evict the volume's local
// pods, and force the resource secondary as soon as every local pod is
// terminating. With I/O suspended by lost quorum, the pods' processes sleep
// in I/O that never completes: the kubelet's kill does not reach them, the
// device cannot be unmounted, and the pods stay Terminating until quorum
// comes back or DRBD fails their I/O, which `secondary --force` makes it do.
// The same holds for a pod that a surviving peer deleted or anyone else.
func decideOwnQuorum(in *Input, v *Volume, d *Decision) {
	r := v.DRBD
	if !in.Synced || !v.QuorumConfigured || r.HasQuorum() || len(r.Devices) == 0 {
		return
	}
	local, _ := targetsOn(v, in.Node)
	if !r.InUse() && len(local) == 0 {
		return
	}
	// A short loss (a link that flaps) must not evict: the same timeout
	// as for a lost peer applies.
	if !d.lostLongEnough(in, Key{Resource: r.Name, Node: in.Node}, time.Time{}) {
		return
	}
	d.taint(in.Taints.LostQuorum, in.Node, r.Name, metadata.ReasonQuorumLost,
		fmt.Sprintf("%s lost quorum for %s", in.Node, r.Name), in.Nodes[in.Node].Tainted)
	staying := 0
	for _, p := range local {
		if p.Terminating {
			continue
		}
		staying++
		switch {
		case p.OptOut:
			d.refuse(Refusal{Resource: r.Name, Node: in.Node, Pod: p, Reason: RefusedOptOut,
				Message: fmt.Sprintf("the pod opted out of fail-over; its I/O on %s stays frozen until %s has quorum again", r.Name, in.Node)})
		case !p.Controlled:
			d.refuse(Refusal{Resource: r.Name, Node: in.Node, Pod: p, Reason: RefusedNoController,
				Message: fmt.Sprintf("no controller would replace the pod; its I/O on %s stays frozen until %s has quorum again, or delete it yourself", r.Name, in.Node)})
		default:
			d.act(Action{Kind: EvictPod, Resource: r.Name, Node: in.Node, Pod: p, Reason: metadata.ReasonPodEvicted,
				Message: fmt.Sprintf("%s lost quorum for %s: its I/O is frozen here", in.Node, r.Name)})
		}
	}
	// A pod left running keeps its frozen I/O: forcing would fail it.
	if staying > 0 || r.Role != state.RolePrimary || !suspendedForQuorum(r) {
		return
	}
	msg := fmt.Sprintf("no pod uses %s here any more: forcing it secondary so that %s can rejoin", r.Name, in.Node)
	if len(local) > 0 {
		msg = fmt.Sprintf("the pods of %s here are terminating but their I/O is frozen by lost quorum: forcing it secondary so that their I/O fails, they exit and the volume can move", r.Name)
	}
	d.act(Action{Kind: Demote, Resource: r.Name, Node: in.Node, Reason: metadata.ReasonResourceDemoted, Message: msg})
}

// suspendedForQuorum reports whether r's I/O is held because it lost
// quorum (on-no-quorum suspend-io), and not for another reason that
// forcing it secondary would not be the answer to.
func suspendedForQuorum(r *state.Resource) bool {
	return slices.Contains(r.SuspendedReasons(), state.SuspendedQuorum)
}

// decideFailingIO handles a resource that fails every I/O here
// (force-io-failures: after a forced secondary, by this sidecar, DRBD's
// on-suspended-primary-outdated or an operator): its local pods see I/O
// errors and can do nothing useful, so the node is tainted and they are
// evicted to restart where the data is good.
func decideFailingIO(in *Input, v *Volume, d *Decision) {
	r := v.DRBD
	if !in.Synced || !r.ForceIOFailures {
		return
	}
	local, _ := targetsOn(v, in.Node)
	var running []*Pod
	for _, p := range local {
		if !p.Terminating {
			running = append(running, p)
		}
	}
	if len(running) == 0 {
		return
	}
	d.taint(in.Taints.ForceIOError, in.Node, r.Name, metadata.ReasonNodeTainted,
		fmt.Sprintf("DRBD fails every I/O of %s on %s (force-io-failures)", r.Name, in.Node), in.Nodes[in.Node].IOErrorTainted)
	for _, p := range running {
		if d.evicting(p) {
			continue
		}
		switch {
		case p.OptOut:
			d.refuse(Refusal{Resource: r.Name, Node: in.Node, Pod: p, Reason: RefusedOptOut,
				Message: fmt.Sprintf("the pod sees I/O errors on %s (DRBD force-io-failures) and opted out of fail-over: delete it to restart it elsewhere", r.Name)})
		case !p.Controlled:
			d.refuse(Refusal{Resource: r.Name, Node: in.Node, Pod: p, Reason: RefusedNoController,
				Message: fmt.Sprintf("the pod sees I/O errors on %s (DRBD force-io-failures) and no controller would replace it: delete and recreate it yourself", r.Name)})
		default:
			d.act(Action{Kind: EvictPod, Resource: r.Name, Node: in.Node, Pod: p, Reason: metadata.ReasonPodEvicted,
				Message: fmt.Sprintf("DRBD fails every I/O of %s on %s (force-io-failures): evicted so that it restarts where the data is good", r.Name, in.Node)})
		}
	}
}

// evicting reports whether the decision evicts p already.
func (d *Decision) evicting(p *Pod) bool {
	return slices.ContainsFunc(d.Actions, func(a Action) bool { return a.Kind == EvictPod && a.Pod != nil && a.Pod.UID == p.UID })
}

// decideIOErrorUntaint removes this node's force-io-error taint once no
// resource here fails its I/O any more.
func decideIOErrorUntaint(in *Input, d *Decision) {
	if !in.Synced || in.Taints.ForceIOError == "" || !in.Nodes[in.Node].IOErrorTainted {
		return
	}
	for i := range in.Volumes {
		if r := in.Volumes[i].DRBD; r != nil && r.ForceIOFailures {
			return
		}
	}
	d.act(Action{Kind: UntaintNode, Taint: in.Taints.ForceIOError, Node: in.Node, Reason: metadata.ReasonNodeUntainted,
		Message: fmt.Sprintf("no DRBD device fails its I/O on %s any more", in.Node)})
}

// decideUntaint removes this node's taint once every resource with quorum
// configured has had quorum here for the hysteresis, so that a flapping
// link does not flap the taint.
func decideUntaint(in *Input, d *Decision) {
	if !in.Synced || in.Taints.LostQuorum == "" || !in.Nodes[in.Node].Tainted {
		return
	}
	for i := range in.Volumes {
		v := &in.Volumes[i]
		if v.DRBD != nil && v.QuorumConfigured && !v.DRBD.HasQuorum() {
			return
		}
	}
	since := in.HealthySince
	if since.IsZero() {
		since = in.Now
	}
	d.HealthySince = since
	if due := since.Add(in.Hysteresis); in.Now.Before(due) {
		d.wakeAt(due)
		return
	}
	d.act(Action{Kind: UntaintNode, Taint: in.Taints.LostQuorum, Node: in.Node, Reason: metadata.ReasonNodeUntainted,
		Message: fmt.Sprintf("%s has quorum for every resource again", in.Node)})
}
