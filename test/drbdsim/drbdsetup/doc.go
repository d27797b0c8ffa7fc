// Package drbdsetup runs drbdsetup command lines against one node of a
// simulated cluster: it parses them as drbdsetup does, prints what
// drbdsetup prints and returns drbdsetup's exit code. The simulator's exec
// server runs it for the drbdsetup stand-in binary.
//
// Supported: events2 [--now] [--timestamps] [--statistics] [--full]
// [RESOURCE|all], status [RESOURCE|all] [--json] [--verbose]
// [--statistics], show [RESOURCE|all] [--json], primary RESOURCE [--force],
// secondary RESOURCE [--force]. Options and arguments may come in any
// order, as getopt allows. Anything else fails with a usage message and
// exit code 20.
package drbdsetup
