// Package drbdreplicas is a kube-scheduler framework plugin that places pods
// on nodes holding healthy DRBD replicas of their volumes.
//
// PreFilter finds the DRBD resources behind a pod's volumes and takes a
// snapshot of their replicas from the sidecars' replica reports. Filter
// rejects nodes whose replica is known bad (and, in strict mode, nodes
// without UpToDate data). Score prefers local UpToDate data, then the zone
// of such data, then a diskless replica. Missing or stale reports are
// neutral: the plugin never blocks a pod for lack of information.
package drbdreplicas
