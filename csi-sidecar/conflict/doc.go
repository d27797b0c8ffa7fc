// Package conflict tells whether another fail-over actor runs in the
// cluster: by default the pods of Piraeus' HA controller, which deletes
// pods, removes VolumeAttachments and taints nodes on its own evidence.
// The sidecar's proof that only the minority side of a split loses its
// pods holds only while it is the one actor; with a second one, each may
// act on the other's half of a split. So while such a pod exists the
// fail-over controller holds every action.
//
// A Watcher keeps one informer on the pods that a label selector matches,
// in every namespace, trimmed to what Counts reads; Counts decides which
// of them count as running.
package conflict
