// Package metadata holds every name that the parts of linstor-ha share with
// each other and with the cluster: the CSI driver they act for, the scheduler
// name, annotation, label and taint keys, the replica report API and the
// reasons of the Events they record.
//
// It imports nothing but the standard library so that every binary, test and
// tool can depend on it without pulling in a client library.
package metadata

// Domain prefixes every key that linstor-ha owns.
const Domain = "linstor-ha.io"

// DriverName is the CSI driver whose volumes are DRBD resources. A PV of this
// driver has the DRBD resource name as its CSI volume handle.
const DriverName = "linstor.csi.linbit.com"

// SchedulerName is the name of the secondary scheduler profile that runs the
// replica placement plugin; the webhook sets it as a pod's schedulerName.
const SchedulerName = "linstor-ha-scheduler"

// LabelTopologyZone is the node label that names a node's zone (room),
// repeated here so that packages without client libraries can use it.
const LabelTopologyZone = "topology.kubernetes.io/zone"

// Annotations and labels on pods and namespaces.
const (
	// AnnotationIgnoreFailOver on a pod opts it out of fail-over: the sidecar
	// never deletes or evicts it. The value is ignored.
	AnnotationIgnoreFailOver = Domain + "/ignore-fail-over"
	// AnnotationIgnoreFailOverCompat is the opt-out key of the Piraeus HA
	// controller, honoured so that existing workloads keep their choice.
	AnnotationIgnoreFailOverCompat = "drbd.linbit.com/ignore-fail-over"

	// AnnotationSkipMutation on a pod ("true") tells the webhook to leave it
	// as it is.
	AnnotationSkipMutation = Domain + "/skip-mutation"
	// LabelNamespaceMutation on a namespace set to "disabled" tells the
	// webhook to leave every pod of that namespace as it is.
	LabelNamespaceMutation = Domain + "/mutation"
	// LabelValueDisabled is the value that switches a label-controlled
	// feature off.
	LabelValueDisabled = "disabled"

	// AnnotationStrictPlacement on a pod ("true") makes the scheduler plugin
	// accept only nodes with an UpToDate diskful replica of every volume.
	AnnotationStrictPlacement = Domain + "/strict-placement"

	// AnnotationMutated records on a pod which mutations the webhook applied,
	// so that a re-invocation leaves the pod unchanged.
	AnnotationMutated = Domain + "/mutated"
)

// IgnoresFailOver reports whether a pod with the given annotations opted out
// of fail-over, under either the project's key or the compatible one.
func IgnoresFailOver(annotations map[string]string) bool {
	if _, ok := annotations[AnnotationIgnoreFailOver]; ok {
		return true
	}
	_, ok := annotations[AnnotationIgnoreFailOverCompat]
	return ok
}

// The NoSchedule taints the sidecar puts on nodes by default. They are the
// keys of the DRBD ecosystem, which every Piraeus component (satellite,
// CSI node plugin, controller) already tolerates, so that the pod that runs
// the sidecar can always come back to a tainted node and remove the taint.
const (
	// TaintLostQuorum marks a node that lost DRBD quorum for a volume in
	// use, or that a peer proved frozen.
	TaintLostQuorum = "drbd.linbit.com/lost-quorum"
	// TaintForceIOError marks a node where a DRBD device in use fails its
	// I/O (force-io-failures), so that the pods moved away from it are not
	// scheduled back onto the failing device.
	TaintForceIOError = "drbd.linbit.com/force-io-error"
)

// The replica report API, written by the sidecar, read by the scheduler
// plugin and the webhook.
const (
	ReportGroup    = Domain
	ReportVersion  = "v1alpha1"
	ReportResource = "replicareports"
	// LabelReportNode on a replica report names the node it describes; the
	// object's name is the node name too.
	LabelReportNode = Domain + "/node"
)

// SidecarEventController is the reportingController of the sidecar's
// Events; their reportingInstance is it and the pod's hostname (its name),
// as client-go's events library sets it.
const SidecarEventController = "linstor-ha-sidecar"

// Event reasons. Every decision the sidecar takes or refuses is recorded as an
// Event with one of these reasons.
const (
	ReasonFailOverRefused         = "FailOverRefused"
	ReasonFailOverDryRun          = "FailOverDryRun"
	ReasonPodForceDeleted         = "PodForceDeleted"
	ReasonPodEvicted              = "PodEvicted"
	ReasonVolumeAttachmentRemoved = "VolumeAttachmentRemoved"
	ReasonNodeTainted             = "NodeTainted"
	ReasonNodeUntainted           = "NodeUntainted"
	ReasonQuorumLost              = "QuorumLost"
	ReasonReplicaDegraded         = "ReplicaDegraded"
	ReasonResourceDemoted         = "ResourceDemoted"
	// ReasonConflictingFailOverActor is recorded on a sidecar's own node
	// when it stops acting because another fail-over actor runs.
	ReasonConflictingFailOverActor = "ConflictingFailOverActor"
)

// PiraeusHAControllerSelector selects the pods of Piraeus' HA controller,
// another fail-over actor, by the label of the operator's own template
// (the operator adds app.kubernetes.io/name and .../instance, whose values
// depend on its build and on the LinstorCluster's name). While such a pod
// runs, the sidecar does not act.
const PiraeusHAControllerSelector = "app.kubernetes.io/component=ha-controller"
