// Package drbdjson holds the Go types of the JSON that drbdsetup prints:
// `drbdsetup status --json` (Resource and what it contains) and
// `drbdsetup show --json` (ShowResource and what it contains).
//
// The types decode the output of real drbd-utils 9 as it is: counters are
// unsigned 64-bit, because the kernel's in-flight counters can underflow
// (ap-in-flight:18446744073709551608 has been seen in the field), and
// percent-in-sync is a float printed with two decimals. Keys that older
// drbd-utils do not print decode as zero values; keys this package does not
// know are ignored. Configuration values in show output are strings, as
// drbdsetup quotes every option that is not a boolean.
package drbdjson
