package failover

import (
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// ActionKind is what the executor is asked to do.
type ActionKind string

// The actions.
const (
	// TaintNode puts the NoSchedule taint Taint on Node.
	TaintNode ActionKind = "TaintNode"
	// UntaintNode removes the taint Taint from Node.
	UntaintNode ActionKind = "UntaintNode"
	// DeletePod deletes Pod with a UID precondition; GraceZero forces it
	// when no kubelet can confirm the deletion.
	DeletePod ActionKind = "DeletePod"
	// EvictPod evicts Pod through the eviction API.
	EvictPod ActionKind = "EvictPod"
	// DeleteAttachment deletes the VolumeAttachment Attachment.
	DeleteAttachment ActionKind = "DeleteAttachment"
	// RemoveAttacherFinalizer lets a deleted VolumeAttachment go when the
	// attacher cannot finish because its node is gone.
	RemoveAttacherFinalizer ActionKind = "RemoveAttacherFinalizer"
	// Demote runs `drbdsetup secondary --force` for Resource.
	Demote ActionKind = "Demote"
	// ReleaseVolume removes Resource's volume from the volumesInUse of a
	// node whose kubelet is gone, so that the attach-detach controller
	// detaches it now instead of waiting for an unmount that cannot come.
	ReleaseVolume ActionKind = "ReleaseVolume"
)

// Action is one thing to do, with the reason and message of its Event.
type Action struct {
	Kind     ActionKind
	Resource string
	// Taint is the key of a TaintNode or UntaintNode.
	Taint      string
	Node       string
	Pod        *Pod
	Attachment string
	// PV is the PersistentVolume of a DeleteAttachment, which names the
	// volume in an Event that sums up several.
	PV        string
	GraceZero bool
	Reason    string
	Message   string
}

// Refusal is a fail-over the sidecar will not do, and why; it becomes an
// Event on the pod (or node) and a metric.
type Refusal struct {
	Resource string
	Node     string
	Pod      *Pod
	Reason   string
	Message  string
}

// Notice is something a person should know that asks for no action, such as
// a lost replica whose resource keeps quorum; it becomes a Warning Event on
// the node.
type Notice struct {
	Resource string
	Node     string
	Reason   string
	Message  string
}

// Decision is the outcome of Decide.
type Decision struct {
	Actions  []Action
	Notices  []Notice
	Refusals []Refusal
	// Lost are the lost peers to remember, with when they were first seen
	// lost; the controller replaces its LostSince with it.
	Lost map[Key]time.Time
	// HealthySince is the new Input.HealthySince.
	HealthySince time.Time
	// NextCheck is when a waiting fail-over becomes due; zero when none
	// waits.
	NextCheck time.Time
	// ConflictingActors are Input.ConflictingActors; Held the actions
	// that Decide holds back while they run.
	ConflictingActors []types.NamespacedName
	Held              []Action
}

func (d *Decision) act(a Action) { d.Actions = append(d.Actions, a) }

func (d *Decision) refuse(r Refusal) { d.Refusals = append(d.Refusals, r) }

func (d *Decision) notice(n Notice) { d.Notices = append(d.Notices, n) }

func (d *Decision) wakeAt(t time.Time) {
	if d.NextCheck.IsZero() || t.Before(d.NextCheck) {
		d.NextCheck = t
	}
}

// maxSignLead is how much earlier than DRBD's detection another sign of a
// loss may have begun and still count as its start: DRBD notices a crash
// within its ping-int, ping-timeout and timeout (16.5 s at the defaults).
// A peer that has been NotReady or silent for long while DRBD stayed
// connected is something else, and a short DRBD blip then waits the whole
// timeout as any other.
const maxSignLead = 30 * time.Second

// lostLongEnough remembers that key is lost, since when DRBD first showed
// it lost, and reports whether the loss has lasted the timeout; if not, it
// asks to be woken when it will have. The loss counts from gone, the first
// other sign that the peer stopped, when that came earlier: a crashed
// node's Lease goes silent long before DRBD's ping times out, and waiting
// the whole timeout again then protects against nothing.
func (d *Decision) lostLongEnough(in *Input, key Key, gone time.Time) bool {
	since, seen := in.LostSince[key]
	if !seen {
		since = in.Now
	}
	d.Lost[key] = since
	if !gone.IsZero() && gone.Before(since) && !gone.Before(since.Add(-maxSignLead)) {
		since = gone
	}
	if due := since.Add(in.Timeout); in.Now.Before(due) {
		d.wakeAt(due)
		return false
	}
	return true
}
