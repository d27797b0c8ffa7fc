// Package csidriver is a stand-in for the LINSTOR CSI driver in test
// clusters: a CSI gRPC server on a unix socket named linstor.csi.linbit.com
// with the Identity service, the Controller publish/unpublish calls the
// external-attacher drives, and the Node service's NodeGetInfo (node id and
// zone topology) the sidecar asks. Volumes live in a Backend, the DRBD
// simulator in test clusters.
package csidriver
