package failover

import (
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// Volume is one DRBD resource of this node and what Kubernetes runs on it.
type Volume struct {
	// DRBD is this node's view of the resource.
	DRBD *state.Resource
	// QuorumConfigured is true when the resource runs with quorum
	// (drbdsetup show: options.quorum other than off). Without quorum a
	// disconnected peer proves nothing.
	QuorumConfigured bool
	// Established is true once the sidecar has seen an UpToDate replica of
	// the resource; a resource still being created is left alone.
	Established bool
	// PV is the PersistentVolume whose volume handle is the resource.
	PV string
	// Pods are the pods that use the volume, on any node.
	Pods []Pod
	// Attachments are the VolumeAttachments of the PV.
	Attachments []Attachment
}

// Pod is a pod that uses a volume.
type Pod struct {
	Namespace, Name string
	UID             types.UID
	Node            string
	// Controlled is true when a controller (StatefulSet, ReplicaSet, ...)
	// owns the pod and will replace it.
	Controlled bool
	// OptOut is true when the pod asked not to be failed over.
	OptOut bool
	// Terminating is true once the pod has a deletion timestamp.
	Terminating bool
}

// Attachment is a VolumeAttachment of a volume.
type Attachment struct {
	Name     string
	UID      types.UID
	Node     string
	Attached bool
	Deleting bool
	// DeletingSince is when this node first saw the attachment being
	// deleted, by its own clock; zero while it is not.
	DeletingSince time.Time
	// AttacherFinalizer is true while the external-attacher's finalizer
	// holds the object.
	AttacherFinalizer bool
}

// NodeState is what the cluster knows of a node.
type NodeState struct {
	// Ready is the node's Ready condition.
	Ready bool
	// Tainted is true when the node carries the lost-quorum taint.
	Tainted bool
	// IOErrorTainted is true when the node carries the force-io-error
	// taint.
	IOErrorTainted bool
	// SignsUnread is true when this node did not read the node's signs
	// of life (its report, its Lease): no decision about it may rest on
	// their absence. The gatherer reads them only for lost peers that
	// this node acts for.
	SignsUnread bool
	// Report is the node's replica report, if it is fresh and synced.
	Report *PeerReport
	// Silent is true when the node's sidecar stopped renewing its
	// liveness Lease: it runs no more, like everything else on a node
	// that lost power.
	Silent bool
	// AliveUntil is when the current signs of life of the node's sidecar
	// (a fresh report, a renewing Lease) run out unless renewed; zero when
	// there are none.
	AliveUntil time.Time
	// GoneSince is the first sign, by this node's clock, that the node
	// stopped: when its sidecar's Lease went silent or when it was first
	// seen NotReady; zero while neither shows. A lost peer's fail-over
	// timeout counts from the earlier of this and DRBD's detection.
	GoneSince time.Time
	// VolumesInUse are the CSI volume handles of the driver that the
	// node's status reports mounted.
	VolumesInUse []string
}

// PeerReport is what a peer's own, fresh report says of its resources.
type PeerReport struct {
	// Quorum maps a resource to whether the peer has quorum for it.
	Quorum map[string]bool
}

// Input is everything a decision depends on.
type Input struct {
	Now time.Time
	// Node is this node.
	Node string
	// Synced is true when the DRBD stream and the Kubernetes caches are
	// complete; before that the absence of something proves nothing.
	Synced bool
	// Timeout is how long a peer must stay lost before fail-over.
	Timeout time.Duration
	// Taints are the taint keys to set; an empty key sets no such taint.
	Taints  TaintKeys
	Volumes []Volume
	Nodes   map[string]NodeState
	// PeerNode maps a DRBD connection name to a Kubernetes node name.
	PeerNode func(connection string) string
	// EvidenceGrace is how long past the timeout a fail-over waits for
	// evidence that the peer cannot write before it counts as refused:
	// a crashed peer's Lease may still be running out.
	EvidenceGrace time.Duration
	// AttacherGrace is how long a deleted attachment of a gone node is
	// left to the external-attacher before its finalizer is removed here.
	AttacherGrace time.Duration
	// Hysteresis is how long this node must have quorum everywhere before
	// its taint goes.
	Hysteresis time.Duration
	// HealthySince is when this node was first seen with quorum for every
	// resource, zero when it is not; the controller keeps it.
	HealthySince time.Time
	// LostSince holds when each lost peer was first seen lost (see Key);
	// the controller keeps it and Decide reports which entries to keep.
	LostSince map[Key]time.Time
	// ConflictingActors are the running pods of another fail-over actor;
	// while there is one, every action is held.
	ConflictingActors []types.NamespacedName
}

// TaintKeys are the keys of the NoSchedule taints the sidecar sets.
type TaintKeys struct {
	// LostQuorum marks a node that lost quorum or was proven frozen.
	LostQuorum string
	// ForceIOError marks a node whose DRBD device in use fails its I/O.
	ForceIOError string
}

// DefaultTaintKeys are the keys that the Piraeus components tolerate.
func DefaultTaintKeys() TaintKeys {
	return TaintKeys{LostQuorum: metadata.TaintLostQuorum, ForceIOError: metadata.TaintForceIOError}
}

// Key names a lost peer of a resource.
type Key struct {
	Resource, Node string
}
