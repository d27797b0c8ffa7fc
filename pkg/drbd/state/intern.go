package state

import "strings"

// known holds the values that recur in every stream. Storing the constant
// instead of the parsed substring keeps the model from pinning whole lines in
// memory and avoids an allocation per value.
var known = func() map[string]string {
	m := make(map[string]string)
	for _, s := range []string{
		RolePrimary, RoleSecondary, RoleUnknown,
		DiskDiskless, DiskAttaching, DiskDetaching, DiskFailed, DiskNegotiating,
		DiskInconsistent, DiskOutdated, DiskUnknown, DiskConsistent, DiskUpToDate,
		ConnStandAlone, ConnDisconnecting, ConnUnconnected, ConnTimeout, ConnBrokenPipe,
		ConnNetworkFail, ConnProtocolError, ConnTearDown, ConnConnecting, ConnConnected,
		ReplOff, ReplEstablished, ReplSyncSource, ReplSyncTarget,
		"StartingSyncS", "StartingSyncT", "WFBitMapS", "WFBitMapT", "WFSyncUUID",
		"PausedSyncS", "PausedSyncT", "VerifyS", "VerifyT", "Ahead", "Behind",
		SuspendedNo, SuspendedQuorum, "user", "no-data", "fencing",
		"yes",
	} {
		m[s] = s
	}
	return m
}()

func intern(s string) string {
	if k, ok := known[s]; ok {
		return k
	}
	return strings.Clone(s)
}
