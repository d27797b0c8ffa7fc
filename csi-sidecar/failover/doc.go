// Package failover decides, from the node's DRBD state and the cluster's
// view of a volume, what the sidecar must do: nothing, wait, refuse (and say
// why), or act. Decide is pure: it takes everything it needs as input and
// returns decisions, so every branch is tested as a table; the controller
// gathers the input and the executor performs the actions.
package failover
