// Package events2 reads and writes the line format of `drbdsetup events2`.
//
// A line is "[TIMESTAMP ]VERB OBJECT KEY:VALUE ...". Parse splits one line
// into an Event without interpreting the keys, so that unknown objects and
// keys pass through; package state gives them meaning. Append writes an Event
// back in the same format, which is what the DRBD simulator prints.
//
// Parse is on the hot path of the sidecar: it allocates nothing when the
// Event it fills is reused, and its Fields alias the parsed line.
package events2
