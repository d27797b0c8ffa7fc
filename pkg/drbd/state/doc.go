// Package state keeps what `drbdsetup events2` has said about the DRBD
// resources of one node, and answers the questions fail-over asks: does this
// node have quorum, may it promote, which peers are gone, which peers hold
// UpToDate data.
//
// Model applies parsed events and is not safe for concurrent use; Store wraps
// a Model for one writer (the events2 runner) and many readers, and swaps in
// a freshly dumped Model after drbdsetup restarts without readers ever seeing
// a half-built state.
package state
