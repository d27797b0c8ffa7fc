// Package status is what `linstor-ha status` shows for each DRBD volume:
// its replicas with node, zone, kind, role and disk state, the pods that
// use it, which single node or zone loss it survives with fail-over, and
// what to change so that it survives the loss of a room. Collect reads the
// cluster, every call with a deadline; Build is a pure function of what
// was read; WriteTable and WriteJSON print it.
package status
