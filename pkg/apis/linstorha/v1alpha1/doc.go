// Package v1alpha1 is the replica report API: one cluster-scoped
// ReplicaReport per node, written by that node's sidecar, read by the
// scheduler plugin and the webhook.
//
// +kubebuilder:object:generate=true
// +groupName=linstor-ha.io
package v1alpha1
