package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReplicaReport is what one node's DRBD says about its replicas. Its name is
// the node's name; only that node's sidecar writes it, through the status
// subresource.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=rr
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Zone",type=string,JSONPath=`.status.zone`
// +kubebuilder:printcolumn:name="Resources",type=integer,JSONPath=`.status.summary.resources`
// +kubebuilder:printcolumn:name="Healthy",type=integer,JSONPath=`.status.summary.healthy`
// +kubebuilder:printcolumn:name="Degraded",type=integer,JSONPath=`.status.summary.degraded`
// +kubebuilder:printcolumn:name="No-Quorum",type=integer,JSONPath=`.status.summary.withoutQuorum`
// +kubebuilder:printcolumn:name="Not-Zone-Safe",type=integer,JSONPath=`.status.summary.notZoneSafe`
// +kubebuilder:printcolumn:name="Unprotected",type=integer,JSONPath=`.status.summary.unprotected`
// +kubebuilder:printcolumn:name="Synced",type=boolean,JSONPath=`.status.synced`
// +kubebuilder:printcolumn:name="Heartbeat",type=date,JSONPath=`.status.heartbeatTime`
type ReplicaReport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Status ReplicaReportStatus `json:"status,omitempty"`
}

// ReplicaReportStatus is the node's DRBD state.
type ReplicaReportStatus struct {
	// NodeName is the node the report describes.
	NodeName string `json:"nodeName,omitempty"`
	// Zone is the node's topology.kubernetes.io/zone, as the CSI driver
	// reports it.
	// +optional
	Zone string `json:"zone,omitempty"`
	// HeartbeatTime is when the sidecar last confirmed the report; readers
	// treat an old heartbeat as no data.
	HeartbeatTime metav1.MicroTime `json:"heartbeatTime,omitempty"`
	// Synced is true while the sidecar follows a complete DRBD event
	// stream; false means the resources may be outdated.
	Synced bool `json:"synced"`
	// Summary counts the resources by health.
	Summary ReportSummary `json:"summary"`
	// Resources holds one entry per DRBD resource on the node, sorted by
	// name.
	// +listType=map
	// +listMapKey=name
	// +optional
	Resources []ResourceReport `json:"resources,omitempty"`
}

// ReportSummary counts a node's resources.
type ReportSummary struct {
	Resources int32 `json:"resources"`
	// Healthy resources have quorum, UpToDate data (local or, for diskless
	// replicas, on a connected peer) and every peer connected.
	Healthy int32 `json:"healthy"`
	// Degraded resources have quorum but miss a peer or UpToDate data.
	Degraded int32 `json:"degraded"`
	// WithoutQuorum resources cannot be written on this node.
	WithoutQuorum int32 `json:"withoutQuorum"`
	// NotZoneSafe counts the resources whose protection is not ZoneSafe:
	// after the loss of some zone (room), or of some node, their pods
	// could not fail over.
	// +optional
	NotZoneSafe int32 `json:"notZoneSafe"`
	// Unprotected counts the resources whose pods could not fail over
	// after the loss of some single node.
	// +optional
	Unprotected int32 `json:"unprotected"`
}

// ResourceReport is the node's replica of one DRBD resource.
type ResourceReport struct {
	// Name is the DRBD resource name, the CSI volume handle of its PV.
	Name string `json:"name"`
	// Role is Primary, Secondary or Unknown.
	Role string `json:"role,omitempty"`
	// Disk is the local disk state; with several volumes, the least
	// healthy one.
	Disk string `json:"disk,omitempty"`
	// Diskless is true when the node holds no data of the resource (a
	// client or a tiebreaker).
	Diskless bool `json:"diskless,omitempty"`
	// Client is true for an intentionally diskless replica.
	Client bool `json:"client,omitempty"`
	// Quorum is true when the node may write.
	Quorum bool `json:"quorum"`
	// MayPromote is true when the node could become Primary now.
	MayPromote bool `json:"mayPromote"`
	// InUse is true while the device is open on the node.
	InUse bool `json:"inUse,omitempty"`
	// Suspended lists why I/O is frozen, if it is.
	// +optional
	Suspended []string `json:"suspended,omitempty"`
	// Peers are the node's connections to the other replicas.
	// +optional
	Peers []PeerReport `json:"peers,omitempty"`
	// Protection tells which single failure the resource survives with
	// fail-over, judged from this node's DRBD (a peer that is not
	// connected counts with unknown data) and the zones the peers' own
	// reports give.
	// +optional
	Protection *ResourceProtection `json:"protection,omitempty"`
}

// ResourceProtection is which single failure a resource survives with
// fail-over, by DRBD's quorum rule: after it, the remaining replicas must
// have quorum and one of them UpToDate data.
type ResourceProtection struct {
	// Summary is ZoneSafe (it survives the loss of any one node and of any
	// one zone), NodeSafe (any one node, not every zone), Unprotected (the
	// loss of some node stops it) or Unknown (its replicas cannot be
	// judged). No enum: a report that a reader cannot validate must still
	// be written, since fail-over reads it.
	Summary string `json:"summary"`
	// NotSurvived lists the single failures after which its pods could
	// not fail over, or might not (a node without a zone).
	// +listType=atomic
	// +optional
	NotSurvived []FailureReport `json:"notSurvived,omitempty"`
}

// FailureReport is one failure that a resource does not survive.
type FailureReport struct {
	// Kind is node or zone.
	Kind string `json:"kind"`
	// Name is the node's or the zone's name.
	Name string `json:"name"`
	// Reason says why: FewerThanHalfDiskful, TiebreakerLost,
	// NoTiebreaker, NoUpToDateData, AllReplicasLost, or ZoneUnknown when
	// it depends on nodes without a zone.
	Reason string `json:"reason"`
}

// PeerReport is what the node knows of one peer replica.
type PeerReport struct {
	// Name is the connection name: the peer's node name in LINSTOR.
	Name string `json:"name"`
	// Connection is the connection state (Connected, Connecting, ...).
	Connection string `json:"connection,omitempty"`
	// Role is the peer's role as last known.
	Role string `json:"role,omitempty"`
	// Disk is the peer's disk state as last known.
	Disk string `json:"disk,omitempty"`
	// Client is true when the peer is intentionally diskless.
	Client bool `json:"client,omitempty"`
}

// ReplicaReportList is a list of ReplicaReports.
//
// +kubebuilder:object:root=true
type ReplicaReportList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ReplicaReport `json:"items"`
}
