// Package report turns the node's DRBD state into its ReplicaReport and
// keeps the report in the API server current: changes that matter for
// fail-over are written at once, everything else is coalesced, and a
// heartbeat tells readers the report is alive.
package report
