package drbdsim_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// inOrder checks that lines hold, in this order, a line for each of wants:
// a want lists the parts, separated by "|", that one line must contain.
func inOrder(t *testing.T, what string, lines []string, wants ...string) {
	t.Helper()
	i := 0
	for _, want := range wants {
		parts := strings.Split(want, "|")
		for i < len(lines) && !containsAll(lines[i], parts) {
			i++
		}
		if i == len(lines) {
			t.Errorf("%s: no line with %q after the previous ones in:\n%s", what, want, strings.Join(lines, "\n"))
			return
		}
		i++
	}
}

func containsAll(line string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(line, p) {
			return false
		}
	}
	return true
}

// closePending asks both ClosePending and Replica, which must agree.
func closePending(t *testing.T, c *drbdsim.Cluster, node, res string) bool {
	t.Helper()
	pending, err := c.ClosePending(node, res)
	must(t, err)
	r, err := c.Replica(node, res)
	must(t, err)
	if r.ClosePending != pending {
		t.Fatalf("%s: ClosePending says %v, Replica says %v", node, pending, r.ClosePending)
	}
	return pending
}

func wantCloseBlocked(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, drbdsim.ErrCloseBlocked) {
		t.Fatalf("%s: %v, want ErrCloseBlocked", what, err)
	}
}

// frozenPrimary is a cluster of a, b and the tiebreaker t, where a opened the
// device and was then cut off from the others, so that its I/O is
// suspended for lack of quorum; events follows a's events2 stream.
type frozenPrimary struct {
	t      *testing.T
	c      *drbdsim.Cluster
	d      drbdsim.Delays
	events *drbdsim.Stream
	step   func(time.Duration)
}

func newFrozen(t *testing.T, delays *drbdsim.Delays, spec drbdsim.ResourceSpec) *frozenPrimary {
	t.Helper()
	c, clk := newCluster(t, delays, "a", "b", "t")
	spec.Name = "r"
	spec.Replicas = replicas("a", "b", "t:Tiebreaker")
	mustAddResource(t, c, spec)
	s, err := c.Subscribe("a", drbdsim.SubscribeOptions{})
	must(t, err)
	t.Cleanup(s.Close)
	f := &frozenPrimary{t: t, c: c, d: c.Delays(), events: s, step: func(d time.Duration) {
		clk.Step(d)
		must(t, c.Sync())
	}}
	must(t, c.OpenDevice("a", "r"))
	must(t, c.Partition([]string{"a"}, []string{"b", "t"}))
	f.step(f.d.PingInt + f.d.PingTimeout)
	v := mustView(t, c, "a", "r")
	if v.Role != state.RolePrimary || v.Suspended != state.SuspendedQuorum || !v.Devices[0].Open || v.ForceIOFailures {
		t.Fatalf("a after the cut: %+v; want a frozenPrimary, open Primary", v)
	}
	f.lines()
	return f
}

// lines returns a's events2 lines since the last call.
func (f *frozenPrimary) lines() []string {
	f.t.Helper()
	lines, err := drain(f.t, f.events)
	must(f.t, err)
	return lines
}

// takeOver lets b take over: it opens the device and writes, so that a's
// data is stale.
func (f *frozenPrimary) takeOver() {
	f.t.Helper()
	must(f.t, f.c.OpenDevice("b", "r"))
	if got := writers(f.t, f.c, "r"); !slices.Equal(got, []string{"b"}) {
		f.t.Fatalf("writers after b took over = %v, want [b]", got)
	}
	if !stale(f.t, f.c, "a", "r") {
		f.t.Fatalf("a is not stale although b writes without it")
	}
}

// TestCloseBlockedWhileSuspended closes the device of a Primary whose I/O
// is suspended: the close hangs, and completes by itself, with the
// demotion, once the Primary regains quorum and its I/O resumes.
func TestCloseBlockedWhileSuspended(t *testing.T) {
	f := newFrozen(t, noDelays(), drbdsim.ResourceSpec{})
	c := f.c
	err := c.CloseDevice("a", "r")
	wantCloseBlocked(t, "close while suspended", err)
	for _, s := range []string{"I/O is suspended", "waits until I/O resumes or fails", "/dev/drbd1000", "lack of quorum"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("close error %q does not say %q", err, s)
		}
	}
	if !closePending(t, c, "a", "r") {
		t.Fatalf("no close pending after a blocked close")
	}
	before := mustView(t, c, "a", "r")
	if before.Role != state.RolePrimary || !before.Devices[0].Open || before.Suspended != state.SuspendedQuorum {
		t.Errorf("a with a pending close: role %s, open %v, suspended %s; want Primary, open, suspended", before.Role, before.Devices[0].Open, before.Suspended)
	}

	// Nothing else gets the device out: a second close, an open, a
	// demotion or taking the resource down.
	wantCloseBlocked(t, "second close", c.CloseDevice("a", "r"))
	if err := c.OpenDevice("a", "r"); !errors.Is(err, drbdsim.ErrCloseBlocked) || !strings.Contains(err.Error(), "still closing") {
		t.Errorf("open during a pending close: %v, want ErrCloseBlocked saying the openers are still closing", err)
	}
	var sce *drbdsim.StateChangeError
	if err := c.Secondary("a", "r", false); !errors.As(err, &sce) || sce.Code != drbdsim.SSDeviceInUse {
		t.Errorf("secondary during a pending close: %v, want held open", err)
	}
	if err := c.DownReplica("a", "r"); !errors.As(err, &sce) || sce.Code != drbdsim.SSDeviceInUse {
		t.Errorf("down during a pending close: %v, want held open", err)
	}
	if after := mustView(t, c, "a", "r"); !reflect.DeepEqual(after, before) || !closePending(t, c, "a", "r") {
		t.Errorf("the retries changed a: %+v, was %+v", after, before)
	}
	if lines := f.lines(); len(lines) != 0 {
		t.Errorf("blocked calls produced events:\n%s", strings.Join(lines, "\n"))
	}

	// Quorum is back: the frozenPrimary I/O resumes, then the openers exit.
	must(t, c.Heal())
	v := mustView(t, c, "a", "r")
	if v.Role != state.RoleSecondary || v.Devices[0].Open || v.Suspended != state.SuspendedNo || closePending(t, c, "a", "r") {
		t.Errorf("a after quorum came back: role %s, open %v, suspended %s; want Secondary, closed, not suspended, no close pending",
			v.Role, v.Devices[0].Open, v.Suspended)
	}
	inOrder(t, "events of a", f.lines(),
		"change resource name:r suspended:no",
		"change device name:r|open:yes quorum:yes",
		"change resource name:r role:Secondary",
		"change device name:r|open:no quorum:yes")
	must(t, c.OpenDevice("a", "r"))
	must(t, c.CloseDevice("a", "r"))
}

// TestCloseBlockedWhileWritesHang closes the device while the Primary's
// writes wait for a peer whose loss it has not noticed: the close waits
// until the Primary notices and, keeping quorum, goes on without it.
func TestCloseBlockedWhileWritesHang(t *testing.T) {
	d := drbdsim.DefaultDelays()
	c, clk := newCluster(t, nil, "a", "b", "t")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b", "t:Tiebreaker")})
	must(t, c.OpenDevice("a", "r"))
	must(t, c.Partition([]string{"a"}, []string{"b"}))
	err := c.CloseDevice("a", "r")
	wantCloseBlocked(t, "close while writes hang", err)
	if !strings.Contains(err.Error(), "lost peer b") {
		t.Errorf("close error %q does not name the lost peer", err)
	}
	clk.Step(d.Timeout - time.Millisecond)
	if !closePending(t, c, "a", "r") || !mustView(t, c, "a", "r").Devices[0].Open {
		t.Fatalf("the close completed before a noticed the lost peer")
	}
	clk.Step(time.Millisecond)
	v := mustView(t, c, "a", "r")
	if v.Role != state.RoleSecondary || v.Devices[0].Open || closePending(t, c, "a", "r") {
		t.Errorf("a after noticing: role %s, open %v; want Secondary, closed", v.Role, v.Devices[0].Open)
	}
}

// TestCloseCompletesOnForcedSecondary forces a frozenPrimary Primary to
// Secondary: its frozenPrimary I/O fails, so a pending close completes;
// force-io-failures shows until then. Without a pending close the device
// stays open, failing all I/O, until it is closed.
func TestCloseCompletesOnForcedSecondary(t *testing.T) {
	for _, pending := range []bool{true, false} {
		name := "pending close"
		if !pending {
			name = "no close yet"
		}
		t.Run(name, func(t *testing.T) {
			f := newFrozen(t, nil, drbdsim.ResourceSpec{})
			c := f.c
			f.takeOver()
			if pending {
				wantCloseBlocked(t, "close on the frozenPrimary a", c.CloseDevice("a", "r"))
			}
			must(t, c.Secondary("a", "r", true))
			v := mustView(t, c, "a", "r")
			if v.Role != state.RoleSecondary || v.Devices[0].Open == pending || v.ForceIOFailures == pending ||
				closePending(t, c, "a", "r") || v.MayPromote != state.FlagNo {
				t.Errorf("a after secondary --force: role %s, open %v, force-io-failures %v, may_promote %v; want Secondary, open and failing I/O only without a pending close",
					v.Role, v.Devices[0].Open, v.ForceIOFailures, v.MayPromote)
			}
			want := []string{"change resource name:r role:Secondary suspended:no force-io-failures:yes"}
			if pending {
				want = append(want, "change resource name:r force-io-failures:no", "change device name:r|open:no")
			}
			inOrder(t, "events of a", f.lines(), want...)
			if got := writers(t, c, "r"); !slices.Equal(got, []string{"b"}) {
				t.Errorf("writers = %v, want [b]", got)
			}
			if !pending {
				var oe *drbdsim.OpenError
				if err := c.OpenDevice("a", "r"); !errors.As(err, &oe) {
					t.Errorf("open while force-io-failures: %v, want an OpenError", err)
				}
				must(t, c.CloseDevice("a", "r"))
				if v := mustView(t, c, "a", "r"); v.ForceIOFailures || v.Devices[0].Open {
					t.Errorf("a after the close: force-io-failures %v, open %v; want neither", v.ForceIOFailures, v.Devices[0].Open)
				}
				inOrder(t, "events of a", f.lines(), "change resource name:r force-io-failures:no", "change device name:r|open:no")
			}
			// Healed, the demoted a resyncs from b.
			must(t, c.Heal())
			f.step(f.d.Reconnect)
			f.step(f.d.Resync)
			if got := disk(t, c, "a", "r"); got != state.DiskUpToDate || stale(t, c, "a", "r") {
				t.Errorf("a after healing: disk %s, stale %v; want UpToDate", got, stale(t, c, "a", "r"))
			}
		})
	}
}

// TestCloseAtOnceUnderIOError isolates a Primary with on-no-quorum
// io-error: its I/O fails rather than freezing, so its openers exit and the
// close completes at once. DRBD does not show this as force-io-failures.
func TestCloseAtOnceUnderIOError(t *testing.T) {
	f := newFrozenIOError(t)
	c := f.c
	v := mustView(t, c, "a", "r")
	if v.Role != state.RolePrimary || v.HasQuorum() || v.Suspended != state.SuspendedNo || v.ForceIOFailures || !v.Devices[0].Open {
		t.Fatalf("a without quorum under io-error: %+v; want an open Primary, no quorum, neither suspended nor force-io-failures", v)
	}
	if got := writers(t, c, "r"); len(got) != 0 {
		t.Errorf("writers = %v, want none: a fails its I/O", got)
	}
	must(t, c.CloseDevice("a", "r"))
	v = mustView(t, c, "a", "r")
	if v.Role != state.RoleSecondary || v.Devices[0].Open || closePending(t, c, "a", "r") {
		t.Errorf("a after the close: role %s, open %v; want Secondary, closed", v.Role, v.Devices[0].Open)
	}
	for _, line := range f.lines() {
		if strings.Contains(line, "force-io-failures:yes") {
			t.Errorf("io-error showed as force-io-failures: %q", line)
		}
	}
}

func newFrozenIOError(t *testing.T) *frozenPrimary {
	t.Helper()
	c, clk := newCluster(t, noDelays(), "a", "b", "t")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", OnNoQuorum: drbdsim.OnNoQuorumIOError, Replicas: replicas("a", "b", "t:Tiebreaker")})
	s, err := c.Subscribe("a", drbdsim.SubscribeOptions{})
	must(t, err)
	t.Cleanup(s.Close)
	f := &frozenPrimary{t: t, c: c, d: c.Delays(), events: s, step: func(d time.Duration) { clk.Step(d); must(t, c.Sync()) }}
	must(t, c.OpenDevice("a", "r"))
	must(t, c.Partition([]string{"a"}, []string{"b", "t"}))
	return f
}

// TestCrashDropsPendingClose crashes a node whose close is pending: its
// processes are gone with it, and it restarts with the device closed.
func TestCrashDropsPendingClose(t *testing.T) {
	f := newFrozen(t, noDelays(), drbdsim.ResourceSpec{})
	c := f.c
	wantCloseBlocked(t, "close on the frozenPrimary a", c.CloseDevice("a", "r"))
	must(t, c.Crash("a"))
	if _, err := c.ClosePending("a", "r"); !errors.Is(err, drbdsim.ErrNodeDown) {
		t.Errorf("ClosePending on a crashed node: %v, want ErrNodeDown", err)
	}
	if r, err := c.Replica("a", "r"); err != nil || r.ClosePending || r.View != nil {
		t.Errorf("crashed a: %+v, %v; want no view and no pending close", r, err)
	}
	must(t, c.Restart("a"))
	v := mustView(t, c, "a", "r")
	if v.Role != state.RoleSecondary || v.Devices[0].Open || closePending(t, c, "a", "r") {
		t.Errorf("restarted a: role %s, open %v; want Secondary, closed, no close pending", v.Role, v.Devices[0].Open)
	}
	must(t, c.Heal())
	if got := connState(t, c, "a", "r", "b"); got != state.ConnConnected {
		t.Errorf("restarted a after healing sees b %s, want Connected", got)
	}
	must(t, c.OpenDevice("a", "r"))
}

// TestSuspendedPrimaryOutdated heals a partition after which the frozenPrimary old
// Primary a meets b, which took over and wrote: the handshake shows a that
// b's data is newer. Both values of on-suspended-primary-outdated, with a
// close pending or the device still open.
func TestSuspendedPrimaryOutdated(t *testing.T) {
	for _, policy := range []string{drbdsim.OnSuspendedPrimaryOutdatedDisconnect, drbdsim.OnSuspendedPrimaryOutdatedForceSecondary} {
		for _, pending := range []bool{true, false} {
			name := policy + "/device open"
			if pending {
				name = policy + "/close pending"
			}
			t.Run(name, func(t *testing.T) {
				f := newFrozen(t, nil, drbdsim.ResourceSpec{OnSuspendedPrimaryOutdated: policy})
				if policy == drbdsim.OnSuspendedPrimaryOutdatedForceSecondary {
					testForceSecondary(t, f, pending)
				} else {
					testDisconnect(t, f, pending)
				}
				checkResynced(t, f)
			})
		}
	}
}

// testForceSecondary: a demotes at once when it learns of b's newer data;
// an open device fails all I/O (force-io-failures) until it is closed. The
// connection is retried as Secondary and a resyncs.
func testForceSecondary(t *testing.T, f *frozenPrimary, pending bool) {
	c := f.c
	f.takeOver()
	if pending {
		wantCloseBlocked(t, "close on the frozenPrimary a", c.CloseDevice("a", "r"))
	}
	must(t, c.Heal())
	f.step(f.d.Reconnect)
	v := mustView(t, c, "a", "r")
	if v.Role != state.RoleSecondary || v.Devices[0].Disk != state.DiskOutdated || v.Suspended != state.SuspendedNo ||
		v.Devices[0].Open == pending || v.ForceIOFailures == pending || closePending(t, c, "a", "r") || v.MayPromote != state.FlagNo {
		t.Fatalf("a after meeting b: %+v; want Secondary, Outdated, open with force-io-failures only without a pending close", v)
	}
	if got := writers(t, c, "r"); !slices.Equal(got, []string{"b"}) {
		t.Errorf("writers = %v, want [b]", got)
	}
	want := []string{"change resource name:r role:Secondary suspended:no force-io-failures:yes", "change device name:r|disk:Outdated"}
	if pending {
		want = append(want, "change resource name:r force-io-failures:no", "change device name:r|open:no")
	}
	inOrder(t, "events of a", f.lines(), want...)
	if got := connState(t, c, "a", "r", "b"); got != state.ConnConnecting {
		t.Errorf("a sees b %s, want Connecting: the connection is retried", got)
	}
	if !pending {
		var oe *drbdsim.OpenError
		if err := c.OpenDevice("a", "r"); !errors.As(err, &oe) {
			t.Errorf("open on a while force-io-failures: %v, want an OpenError", err)
		}
	}
	f.step(f.d.Reconnect)
	v = mustView(t, c, "a", "r")
	if conn := v.Connection("b"); conn.State != state.ConnConnected || conn.PeerDevices[0].Replication != state.ReplSyncTarget ||
		v.Devices[0].Disk != state.DiskInconsistent {
		t.Errorf("a after the retry: sees b %s/%s, disk %s; want Connected, SyncTarget, Inconsistent",
			conn.State, conn.PeerDevices[0].Replication, v.Devices[0].Disk)
	}
	if !pending {
		if !v.ForceIOFailures || !v.Devices[0].Open {
			t.Errorf("a resyncing before its openers closed: force-io-failures %v, open %v; want both", v.ForceIOFailures, v.Devices[0].Open)
		}
		must(t, c.CloseDevice("a", "r"))
		inOrder(t, "events of a", f.lines(), "change resource name:r force-io-failures:no", "change device name:r|open:no")
	}
}

// testDisconnect: a refuses the connection and stays Primary, but the
// handshake marks its disk Outdated; without access to UpToDate data its
// frozenPrimary I/O fails (on-no-data-accessible io-error), so the openers can
// exit. Once they closed the device, a is Secondary and reconnects.
func testDisconnect(t *testing.T, f *frozenPrimary, pending bool) {
	c := f.c
	f.takeOver()
	if pending {
		wantCloseBlocked(t, "close on the frozenPrimary a", c.CloseDevice("a", "r"))
	}
	must(t, c.Heal())
	f.step(f.d.Reconnect)
	v := mustView(t, c, "a", "r")
	if pending {
		if v.Role != state.RoleSecondary || v.Devices[0].Disk != state.DiskOutdated || v.Devices[0].Open || v.ForceIOFailures ||
			closePending(t, c, "a", "r") {
			t.Fatalf("a after meeting b: %+v; want Secondary, Outdated, closed", v)
		}
		inOrder(t, "events of a", f.lines(),
			"change device name:r|disk:Outdated client:no open:yes",
			"change connection name:r peer-node-id:1 conn-name:b connection:StandAlone",
			"change resource name:r role:Secondary",
			"change device name:r|open:no",
			"change connection name:r peer-node-id:1 conn-name:b connection:Connecting")
	} else {
		if v.Role != state.RolePrimary || v.Devices[0].Disk != state.DiskOutdated || !v.Devices[0].Open || v.ForceIOFailures ||
			v.Suspended != state.SuspendedQuorum || v.Connection("b").State != state.ConnStandAlone {
			t.Fatalf("a after meeting b: %+v; want an open Primary, Outdated, suspended, no force-io-failures, StandAlone to b", v)
		}
		if got := writers(t, c, "r"); !slices.Equal(got, []string{"b"}) {
			t.Errorf("writers = %v, want [b]", got)
		}
		f.step(f.d.Reconnect)
		if got := connState(t, c, "a", "r", "b"); got != state.ConnStandAlone {
			t.Errorf("a, still Primary, sees b %s, want StandAlone", got)
		}
		// The frozenPrimary I/O failed: the openers exit at once.
		must(t, c.CloseDevice("a", "r"))
		if v := mustView(t, c, "a", "r"); v.Role != state.RoleSecondary || v.Devices[0].Open || v.Connection("b").State != state.ConnConnecting {
			t.Errorf("a after the close: role %s, open %v, sees b %s; want Secondary, closed, Connecting", v.Role, v.Devices[0].Open, v.Connection("b").State)
		}
	}
	f.step(f.d.Reconnect)
}

func checkResynced(t *testing.T, f *frozenPrimary) {
	t.Helper()
	f.step(f.d.Resync)
	v := mustView(t, f.c, "a", "r")
	if v.Devices[0].Disk != state.DiskUpToDate || stale(t, f.c, "a", "r") || v.Connection("b").State != state.ConnConnected ||
		v.ForceIOFailures || v.Devices[0].Open {
		t.Errorf("a at the end: %+v; want closed, Connected, UpToDate", v)
	}
	if got := writers(t, f.c, "r"); !slices.Equal(got, []string{"b"}) {
		t.Errorf("writers at the end = %v, want [b]", got)
	}
}

// TestDisklessSuspendedPrimaryOutdated freezes a diskless Primary x that
// still reaches the diskful c, cut off with it, while a takes over, writes
// and lets go again. When the partition heals, the handshake shows x that
// a and b hold newer data than it exposes. With force-secondary x demotes
// at once, failing its I/O; with disconnect it refuses the connections and
// stays Primary, until c, which connects to a, resyncs: x then has no
// UpToDate data left, its I/O fails and its openers exit.
func TestDisklessSuspendedPrimaryOutdated(t *testing.T) {
	for _, policy := range []string{drbdsim.OnSuspendedPrimaryOutdatedDisconnect, drbdsim.OnSuspendedPrimaryOutdatedForceSecondary} {
		t.Run(policy, func(t *testing.T) {
			c, clk := newCluster(t, noDelays(), "a", "b", "c", "x")
			mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", OnSuspendedPrimaryOutdated: policy, Replicas: replicas("a", "b", "c", "x:Diskless")})
			s, err := c.Subscribe("x", drbdsim.SubscribeOptions{})
			must(t, err)
			defer s.Close()
			must(t, c.OpenDevice("x", "r"))
			must(t, c.Partition([]string{"x", "c"}, []string{"a", "b"}))
			if v := mustView(t, c, "x", "r"); v.Suspended != state.SuspendedQuorum || v.HasQuorum() {
				t.Fatalf("x cut off with c: %+v; want suspended for lack of quorum", v)
			}
			wantCloseBlocked(t, "close on the frozenPrimary x, which still reaches c's data", c.CloseDevice("x", "r"))
			must(t, c.OpenDevice("a", "r"))
			if !stale(t, c, "c", "r") {
				t.Fatalf("c is not stale although a writes without it")
			}
			must(t, c.CloseDevice("a", "r"))
			drain(t, s)
			must(t, c.Heal())
			if v := mustView(t, c, "x", "r"); v.Role != state.RoleSecondary || v.Devices[0].Open || v.ForceIOFailures || closePending(t, c, "x", "r") {
				t.Errorf("x after the heal: %+v; want Secondary and closed", v)
			}
			lines, _ := drain(t, s)
			// x's frozen I/O failed; it never resumed on the newer data.
			for _, l := range lines {
				if strings.HasPrefix(l, "change resource") && strings.Contains(l, "suspended:no") && !strings.Contains(l, "role:Secondary") {
					t.Errorf("x resumed its I/O: %q", l)
				}
			}
			forced := slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "force-io-failures:yes") })
			if want := policy == drbdsim.OnSuspendedPrimaryOutdatedForceSecondary; forced != want {
				t.Errorf("x showed force-io-failures:yes: %v, want %v; events:\n%s", forced, want, strings.Join(lines, "\n"))
			}
			clk.Step(time.Second)
			for _, n := range []string{"b", "c", "x"} {
				if conn := mustView(t, c, "a", "r").Connection(n); conn.State != state.ConnConnected {
					t.Errorf("a sees %s %s, want Connected", n, conn.State)
				}
			}
			if got := disk(t, c, "c", "r"); got != state.DiskUpToDate {
				t.Errorf("c at the end: disk %s, want UpToDate", got)
			}
			if got := writers(t, c, "r"); len(got) != 0 {
				t.Errorf("writers = %v, want none", got)
			}
			must(t, c.OpenDevice("x", "r"))
		})
	}
}

// TestDisklessPrimaryRetriesConnecting keeps a diskless Primary x open with
// older data than the other side: it stays Primary, its connections to the
// peers with newer data stay Connecting, and its I/O fails once it has no
// UpToDate data left; closing the device lets it connect.
func TestDisklessPrimaryRetriesConnecting(t *testing.T) {
	c, clk := newCluster(t, noDelays(), "a", "b", "c", "x")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b", "c", "x:Diskless")})
	must(t, c.OpenDevice("x", "r"))
	must(t, c.Partition([]string{"x", "c"}, []string{"a", "b"}))
	must(t, c.OpenDevice("a", "r"))
	must(t, c.Heal())
	clk.Step(time.Minute)
	v := mustView(t, c, "x", "r")
	if v.Role != state.RolePrimary || !v.Devices[0].Open || v.Connection("a").State != state.ConnConnecting ||
		v.Connection("b").State != state.ConnConnecting {
		t.Errorf("x after the heal: role %s, open %v, sees a %s, b %s; want an open Primary, Connecting to both",
			v.Role, v.Devices[0].Open, v.Connection("a").State, v.Connection("b").State)
	}
	if got := disk(t, c, "c", "r"); got != state.DiskOutdated {
		t.Errorf("c, which a outdated through the healed network, has disk %s, want Outdated", got)
	}
	if got := connState(t, c, "c", "r", "a"); got != state.ConnStandAlone {
		t.Errorf("c, connected to the Primary x, sees the Primary a %s, want StandAlone", got)
	}
	if got := writers(t, c, "r"); !slices.Equal(got, []string{"a"}) {
		t.Errorf("writers = %v, want [a]", got)
	}
	must(t, c.CloseDevice("x", "r"))
	for _, n := range []string{"a", "b"} {
		if got := connState(t, c, "x", "r", n); got != state.ConnConnected {
			t.Errorf("x after the close sees %s %s, want Connected", n, got)
		}
	}
	if got := disk(t, c, "c", "r"); got != state.DiskUpToDate {
		t.Errorf("c at the end: disk %s, want UpToDate", got)
	}
}

// TestOnSuspendedPrimaryOutdatedOption checks the option's default and how
// drbdsetup show reports it.
func TestOnSuspendedPrimaryOutdatedOption(t *testing.T) {
	c, _ := newCluster(t, noDelays(), "a", "b")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b")})
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "s", OnSuspendedPrimaryOutdated: drbdsim.OnSuspendedPrimaryOutdatedForceSecondary, Replicas: replicas("a", "b")})
	st, err := c.State()
	must(t, err)
	want := map[string]string{"r": drbdsim.OnSuspendedPrimaryOutdatedDisconnect, "s": drbdsim.OnSuspendedPrimaryOutdatedForceSecondary}
	for _, rs := range st.Resources {
		if rs.Spec.OnSuspendedPrimaryOutdated != want[rs.Spec.Name] {
			t.Errorf("%s: on-suspended-primary-outdated %q, want %q", rs.Spec.Name, rs.Spec.OnSuspendedPrimaryOutdated, want[rs.Spec.Name])
		}
	}
	show, err := c.Show("a", "all")
	must(t, err)
	for _, r := range show {
		if r.Options.OnSuspendedPrimaryOutdated != want[r.Resource] {
			t.Errorf("show %s: on-suspended-primary-outdated %q, want %q", r.Resource, r.Options.OnSuspendedPrimaryOutdated, want[r.Resource])
		}
	}
	err = c.AddResource(drbdsim.ResourceSpec{Name: "bad", OnSuspendedPrimaryOutdated: "force-primary", Replicas: replicas("a")})
	if !errors.Is(err, drbdsim.ErrInvalid) || !strings.Contains(err.Error(), "on-suspended-primary-outdated") || !strings.Contains(err.Error(), "force-primary") {
		t.Errorf("bad on-suspended-primary-outdated: %v, want ErrInvalid naming the option and the value", err)
	}
}
