// Package drbdsim simulates a cluster of DRBD 9 nodes for tests, where no
// kernel DRBD is available.
//
// A Cluster keeps two things apart, as a real cluster does. The ground
// truth: which nodes run, which pairs of nodes reach each other on the
// replication network, which replicas missed writes. And, per node, the view
// that node's DRBD has: its connections, its peers' roles and disks as last
// known, its own disk, quorum, role and suspension. Views change only the way
// DRBD learns things:
//
//   - A broken link is noticed after ping-int + ping-timeout, or after
//     timeout by a Primary with the device open (its requests time out);
//     until then the view still says Connected, and a Primary's writes wait
//     for the lost diskful peer. A healed link, or a restarted node,
//     connects after the reconnect delay.
//   - Quorum follows DRBD's rule: more than half of the diskful replicas
//     that have not left gracefully, or exactly half plus a majority of the
//     diskless ones (tiebreakers). A Primary without quorum suspends I/O or
//     fails it, as on-no-quorum says; a Primary without access to UpToDate
//     data fails it (DRBD's default on-no-data-accessible io-error). Views
//     show suspended:quorum on a Primary only, where DRBD shows it on any
//     node without quorum under on-no-quorum suspend-io.
//   - Suspended I/O is frozen, not failed: the processes that hold the
//     device sleep uninterruptibly in it, cannot exit, and so cannot close
//     the device. CloseDevice on a Primary whose I/O is suspended, or whose
//     writes still wait for a lost peer it has not noticed, does not
//     complete: it fails with ErrCloseBlocked and leaves a pending close
//     (ClosePending, ReplicaState.ClosePending); the device stays open and
//     Primary, and neither another close, nor an open, nor a demotion
//     without force gets it out. The pending close completes by itself, a
//     moment after the I/O resumes (quorum is back) or starts to fail
//     (secondary --force, on-no-quorum io-error, no UpToDate data left), as
//     a normal close does: the device closes and an auto-promoted resource
//     demotes. A crash of the node drops it.
//   - A forced demotion (Secondary with force, or on-suspended-primary-
//     outdated force-secondary) of an open device leaves it open with
//     force-io-failures:yes: all I/O fails, frozen requests included,
//     until the last opener closes it. Only a forced demotion sets
//     force-io-failures; on-no-quorum io-error fails I/O without it.
//   - Writes made while a diskful replica is not reached make it stale. It
//     learns that it is Outdated when it hears of the newer data: at once if
//     the writer reaches it through other nodes, otherwise when it meets a
//     peer that knows. It then resyncs from a peer with the newer data.
//   - A connection that would join two Primaries, or a Primary with older
//     data than its peer knows of, goes StandAlone until that Primary
//     demotes (a simplification: DRBD's rr-conflict disconnect leaves it
//     StandAlone until an adjust). Whatever the handshake showed still
//     applies: a Secondary that saw newer data on the peer's disk is
//     Outdated, and so is a Primary whose I/O is suspended. The latter then
//     follows on-suspended-primary-outdated: with disconnect (the default)
//     it stays Primary, and its frozen I/O fails since it has no UpToDate
//     data left, so its openers can close; with force-secondary it demotes
//     at once, as a forced demotion does, and the connection is retried, as
//     DRBD does with rr-conflict retry-connect: it reconnects as Secondary
//     and resyncs (while the device may still be open). A diskless Primary that exposes
//     older data than a peer's UpToDate disk refuses the connection but
//     keeps retrying: both sides stay Connecting.
//   - A promotion is refused while any node it reaches over working
//     connections is, or sees, another Primary, and times out while a
//     connection it relies on is silently broken.
//
// Each node's view is published as `drbdsetup events2` lines (Subscribe,
// Dump) and as the JSON of `drbdsetup status --json` and `show --json`
// (Status, Show), so that code under test sees what it would see on a real
// node. Faults (Crash, Restart, Partition, Heal, DownReplica), LINSTOR's
// changes (AddResource, AddReplica, RemoveReplica) and the application side
// (OpenDevice, CloseDevice, Primary, Secondary) drive the cluster; Writers
// and State tell the truth to assertions.
//
// Time comes from a k8s.io/utils/clock clock. With a fake clock, tests step
// time; every method first applies what became due, in order and each at its
// own simulated time (Sync does only that), so tests are deterministic. Zero
// delays apply synchronously, within the call that caused them. Every method
// is safe for concurrent use.
package drbdsim
