// Package protection tells, for one DRBD resource, which single failures
// the resource survives with fail-over: the loss of any one node, or of any
// one zone (room), after which the pod can still be started on a surviving
// replica. The sidecar, the webhook and the CLI use it to warn about
// placements that look replicated but would not fail over, and to say what
// to change.
//
// The rules are DRBD's, as the repository's simulator (test/drbdsim)
// applies them. The voters are the diskful replicas; the replicas that
// remain after a failure have quorum when they are more than half of the
// voters, or exactly half and a strict majority of the diskless replicas
// (tiebreakers; DRBD counts diskless clients the same way). A failed
// replica crashed rather than left gracefully, so it still counts as a
// voter. Fail-over further needs one remaining diskful replica with
// UpToDate data to promote.
//
// The analysis is a pure function of the placement: no I/O, no clock. It
// assumes quorum is enabled (fail-over without it risks split brain), that
// the remaining replicas reach each other, and that exactly one node or one
// zone fails. A replica whose zone is unknown is never put in a zone of its
// own invention: for the loss of a zone it may or may not be there, and the
// outcome is undecided when that matters.
package protection
