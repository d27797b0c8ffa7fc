package drbdsim_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// grab plays an aggressive fail-over controller: every node whose view says
// may_promote:yes opens the device at once.
func grab(c *drbdsim.Cluster, nodes []string) {
	for _, n := range nodes {
		if v, ok := c.View(n, "r"); ok && v.MayPromote == state.FlagYes {
			_ = c.OpenDevice(n, "r")
		}
	}
}

func checkOneWriter(t *testing.T, c *drbdsim.Cluster, step string) {
	t.Helper()
	if w := writers(t, c, "r"); len(w) > 1 {
		st, _ := c.State()
		t.Fatalf("%s: two writers %v\nstate: %+v", step, w, st)
	}
}

// TestNeverTwoWritersSequences runs fault sequences with DRBD's delays and a
// controller that promotes wherever it may.
func TestNeverTwoWritersSequences(t *testing.T) {
	d := drbdsim.DefaultDelays()
	detect := d.PingInt + d.PingTimeout
	type step struct {
		name string
		do   func(c *drbdsim.Cluster, clk interface{ Step(time.Duration) }) error
	}
	wait := func(dur time.Duration) step {
		return step{fmt.Sprintf("wait %s", dur), func(_ *drbdsim.Cluster, clk interface{ Step(time.Duration) }) error {
			clk.Step(dur)
			return nil
		}}
	}
	act := func(name string, fn func(c *drbdsim.Cluster) error) step {
		return step{name, func(c *drbdsim.Cluster, _ interface{ Step(time.Duration) }) error { return fn(c) }}
	}
	tests := []struct {
		name     string
		replicas []drbdsim.ReplicaSpec
		steps    []step
		// want is the writer at the end.
		want string
	}{
		{
			name: "partition the Primary away, heal", replicas: replicas("a", "b", "t:Tiebreaker"),
			steps: []step{
				act("isolate a", partition([]string{"a"}, []string{"b", "t"})),
				wait(d.Timeout), wait(detect - d.Timeout), wait(d.Reconnect),
				act("heal", func(c *drbdsim.Cluster) error { return c.Heal() }),
				wait(d.Reconnect), wait(d.Resync),
			},
			want: "b",
		},
		{
			name: "crash the Primary, restart it", replicas: replicas("a", "b", "c"),
			steps: []step{
				act("crash a", crash("a")),
				wait(detect),
				act("restart a", func(c *drbdsim.Cluster) error { return c.Restart("a") }),
				wait(d.Reconnect), wait(d.Resync),
			},
			want: "b",
		},
		{
			name: "cut the diskful link only", replicas: replicas("a", "b", "t:Tiebreaker"),
			steps: []step{
				act("cut a-b", partition([]string{"a"}, []string{"b"})),
				wait(detect),
				act("crash t", crash("t")),
				wait(detect),
				act("heal", func(c *drbdsim.Cluster) error { return c.Heal() }),
				wait(d.Reconnect),
				act("restart t", func(c *drbdsim.Cluster) error { return c.Restart("t") }),
				wait(d.Reconnect), wait(d.Resync),
			},
			want: "a",
		},
		{
			name: "even split with tiebreaker, then flip the tiebreaker", replicas: replicas("a", "b", "c", "d", "t:Tiebreaker"),
			steps: []step{
				act("split, t with c,d", partition([]string{"a", "b"}, []string{"c", "d", "t"})),
				wait(detect),
				act("heal", func(c *drbdsim.Cluster) error { return c.Heal() }),
				wait(d.Reconnect),
				// The frozen old Primary a is split-brained until its
				// application lets go of the device, which it can: the
				// handshake with c and d outdated a's disk, so its frozen
				// I/O failed.
				act("close a", func(c *drbdsim.Cluster) error { return c.CloseDevice("a", "r") }),
				wait(d.Reconnect), wait(d.Resync),
				act("split, t with a,b", partition([]string{"a", "b", "t"}, []string{"c", "d"})),
				wait(detect), wait(d.Reconnect), wait(d.Resync),
			},
			want: "a",
		},
		{
			name: "the Primary's peers crash one by one", replicas: replicas("a", "b", "c"),
			steps: []step{
				act("crash b", crash("b")),
				wait(detect),
				act("crash c", crash("c")),
				wait(detect),
				act("restart b and c", func(c *drbdsim.Cluster) error {
					if err := c.Restart("b"); err != nil {
						return err
					}
					return c.Restart("c")
				}),
				wait(d.Reconnect), wait(d.Resync),
			},
			want: "a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var nodes []string
			for _, r := range tt.replicas {
				nodes = append(nodes, r.Node)
			}
			c, clk := newCluster(t, nil, nodes...)
			mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: tt.replicas})
			must(t, c.OpenDevice(nodes[0], "r"))
			for _, s := range tt.steps {
				must(t, s.do(c, clk))
				checkOneWriter(t, c, s.name)
				grab(c, nodes)
				checkOneWriter(t, c, s.name+", then grab")
			}
			if got := writers(t, c, "r"); len(got) != 1 || got[0] != tt.want {
				t.Errorf("writers at the end = %v, want [%s]", got, tt.want)
			}
		})
	}
}

// TestNeverTwoWritersRandom drives random faults, random clock steps and the
// grabbing controller over several layouts and seeds.
func TestNeverTwoWritersRandom(t *testing.T) {
	layouts := map[string][]drbdsim.ReplicaSpec{
		"2+T":           replicas("a", "b", "t:Tiebreaker"),
		"3":             replicas("a", "b", "c"),
		"4+T":           replicas("a", "b", "c", "d", "t:Tiebreaker"),
		"2+client":      replicas("a", "b", "x:Diskless"),
		"2+T+client":    replicas("a", "b", "t:Tiebreaker", "x:Diskless"),
		"3, io-error":   replicas("a", "b", "c"),
		"2, no delays":  replicas("a", "b"),
		"3, no delays":  replicas("a", "b", "c"),
		"4+T no delays": replicas("a", "b", "c", "d", "t:Tiebreaker"),
		// on-suspended-primary-outdated force-secondary.
		"3, force-secondary":          replicas("a", "b", "c"),
		"2+T+client, force-secondary": replicas("a", "b", "t:Tiebreaker", "x:Diskless"),
	}
	names := make([]string, 0, len(layouts))
	for name := range layouts {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		specs := layouts[name]
		for seed := range uint64(25) {
			t.Run(fmt.Sprintf("%s/seed=%d", name, seed), func(t *testing.T) {
				var delays *drbdsim.Delays
				if slices.Contains([]string{"2, no delays", "3, no delays", "4+T no delays"}, name) {
					delays = noDelays()
				}
				var nodes []string
				for _, r := range specs {
					nodes = append(nodes, r.Node)
				}
				c, clk := newCluster(t, delays, nodes...)
				spec := drbdsim.ResourceSpec{Name: "r", Replicas: specs}
				if name == "3, io-error" {
					spec.OnNoQuorum = drbdsim.OnNoQuorumIOError
				}
				if strings.HasSuffix(name, "force-secondary") {
					spec.OnSuspendedPrimaryOutdated = drbdsim.OnSuspendedPrimaryOutdatedForceSecondary
				}
				mustAddResource(t, c, spec)
				rng := rand.New(rand.NewPCG(seed, uint64(len(name))))
				pick := func() string { return nodes[rng.IntN(len(nodes))] }
				for i := range 80 {
					var desc string
					switch rng.IntN(12) {
					case 0:
						n := pick()
						desc = "crash " + n
						_ = c.Crash(n)
					case 1:
						n := pick()
						desc = "restart " + n
						_ = c.Restart(n)
					case 2:
						var a, b []string
						for _, n := range nodes {
							if rng.IntN(2) == 0 {
								a = append(a, n)
							} else {
								b = append(b, n)
							}
						}
						desc = fmt.Sprintf("partition %v %v", a, b)
						_ = c.Partition(a, b)
					case 3:
						desc = "heal"
						_ = c.Heal()
					case 4:
						n := pick()
						desc = "close " + n
						_ = c.CloseDevice(n, "r")
					case 5:
						n := pick()
						desc = "down " + n
						_ = c.DownReplica(n, "r")
					case 6:
						n := pick()
						desc = "up " + n
						_ = c.UpReplica(n, "r")
					case 7:
						n := pick()
						desc = "attach a client on " + n
						_ = c.AddReplica("r", drbdsim.ReplicaSpec{Node: n, Kind: drbdsim.Diskless})
					case 8:
						n := pick()
						if r, err := c.Replica(n, "r"); err == nil && r.Kind != drbdsim.Diskful {
							desc = "detach " + n
							_ = c.RemoveReplica(n, "r")
						}
					case 9:
						n := pick()
						desc = "secondary --force " + n
						_ = c.Secondary(n, "r", true)
					default:
						dur := time.Duration(rng.IntN(12000)) * time.Millisecond
						desc = "wait " + dur.String()
						clk.Step(dur)
					}
					step := fmt.Sprintf("step %d (%s)", i, desc)
					checkOneWriter(t, c, step)
					grab(c, nodes)
					checkOneWriter(t, c, step+", then grab")
				}
				checkConverges(t, c, clk, nodes)
			})
		}
	}
}

// checkConverges repairs everything and checks that the cluster settles:
// every replica connected to every peer, every diskful replica UpToDate,
// every device closed. A close may have to wait for frozen I/O; once the
// network is whole, the I/O resumes or fails and the close completes.
func checkConverges(t *testing.T, c *drbdsim.Cluster, clk interface{ Step(time.Duration) }, nodes []string) {
	t.Helper()
	must(t, c.Heal())
	for _, n := range nodes {
		_ = c.Restart(n)
		_ = c.UpReplica(n, "r")
		if err := c.CloseDevice(n, "r"); err != nil && !errors.Is(err, drbdsim.ErrCloseBlocked) && !errors.Is(err, drbdsim.ErrUnknownResource) {
			t.Fatalf("after repairs, close on %s: %v", n, err)
		}
	}
	clk.Step(time.Minute)
	st, err := c.State()
	must(t, err)
	for _, r := range st.Resources[0].Replicas {
		if r.View == nil || r.Stale {
			t.Fatalf("after repairs, %s: view %v, stale %v", r.Node, r.View != nil, r.Stale)
		}
		if r.ClosePending || r.View.Devices[0].Open || r.View.ForceIOFailures || r.View.Role != state.RoleSecondary {
			t.Errorf("after repairs, %s: close pending %v, open %v, force-io-failures %v, role %s; want a closed Secondary",
				r.Node, r.ClosePending, r.View.Devices[0].Open, r.View.ForceIOFailures, r.View.Role)
		}
		for _, conn := range r.View.Connections {
			if conn.State != state.ConnConnected {
				t.Errorf("after repairs, %s sees %s %s", r.Node, conn.Name, conn.State)
			}
		}
		if want := state.DiskUpToDate; r.Kind == drbdsim.Diskful && r.View.Devices[0].Disk != want {
			t.Errorf("after repairs, %s: disk %s, want %s", r.Node, r.View.Devices[0].Disk, want)
		}
	}
}
