// Package cluster starts a whole Kubernetes cluster on loopback for tests,
// benchmarks and the demo: the real etcd, kube-apiserver and
// kube-controller-manager built from source (see test/tools), one kwok
// process per node, the DRBD simulator with a drbdsetup stand-in per node,
// a stand-in LINSTOR CSI driver behind the real CSI external-attacher, and a
// kubelet stand-in that opens DRBD devices for running pods.
//
// Everything runs in one temporary directory with free ports, keeps its logs
// there, and is stopped by Stop, also when a test fails. Faults (node crash,
// replication network split, API isolation) are injected through the
// Cluster's methods.
package cluster
