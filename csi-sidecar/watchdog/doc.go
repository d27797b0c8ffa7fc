// Package watchdog tells the sidecar's liveness probe whether its loops
// make progress. A loop that began a piece of work (an evaluation of the
// fail-over, a write of the report) and has not finished it within its
// limit is stuck, as is a DRBD event stream that has not completed its
// initial dump for as long: every API call and every drbdsetup call has a
// deadline, so only a fault that the process cannot leave by itself keeps
// them there, and only a restart of the container frees it. Idle loops
// are not stuck: a quiet DRBD stream or a fail-over loop without work is
// the normal state.
package watchdog
