// Package clusterview is the sidecar's read-only view of the Kubernetes
// objects around its node's DRBD resources, which the fail-over controller
// decides from.
//
// Informers cache every Node, every PersistentVolume (those of the DRBD
// driver indexed by their DRBD resource, see View.PV), every
// VolumeAttachment (filtered to the DRBD driver's on read) and the pods of
// this node only. Each object is trimmed to the fields the sidecar reads
// before it is stored, and every change calls the view's onChange so the
// controller re-evaluates. Pods of another node are watched only while a
// fail-over asks for them (View.PodsOn, a watch per lost peer that stops
// when it is not asked for any more), so that memory does not grow with
// the cluster's pod count and a fail-over lists each peer's pods once. UsesClaim maps a PV's
// claimRef back to the pods that use it.
//
// Replica reports are not part of the view: package report publishes and
// reads them.
package clusterview
