// Package drbdsetup is the only place that runs drbdsetup.
//
// Runner follows `drbdsetup events2` and keeps a state.Store current: it
// execs the configured drbdsetup binary, feeds every line to the model and
// tells its caller which resources changed. When drbdsetup exits or fails it
// is restarted with a capped backoff; the new stream's initial dump is built
// aside and swapped in whole (state.Store.Replace), so a restart neither
// loses nor repeats state. A malformed or over-long line is counted, logged
// by a bounded prefix and skipped; the stream goes on.
//
// Show and ForceSecondary run the one-shot commands `drbdsetup show --json`
// and `drbdsetup secondary --force`, each under a deadline.
package drbdsetup
