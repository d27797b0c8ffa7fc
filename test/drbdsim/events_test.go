package drbdsim_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/events2"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// drain returns the lines a stream holds now, and the error that ended it,
// if it ended.
func drain(t *testing.T, s *drbdsim.Stream) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var lines []string
	for {
		line, err := s.Next(ctx)
		if errors.Is(err, context.Canceled) {
			return lines, nil
		}
		if err != nil {
			return lines, err
		}
		lines = append(lines, line)
	}
}

// follower is a subscriber that rebuilds a node's state from its stream,
// as the sidecar does.
type follower struct {
	node   string
	opts   drbdsim.SubscribeOptions
	stream *drbdsim.Stream
	model  *state.Model
	dumped bool
}

func follow(t *testing.T, c *drbdsim.Cluster, node string, opts drbdsim.SubscribeOptions) *follower {
	t.Helper()
	s, err := c.Subscribe(node, opts)
	if err != nil {
		t.Fatalf("failed to subscribe to %s: %v", node, err)
	}
	t.Cleanup(s.Close)
	return &follower{node: node, opts: opts, stream: s, model: state.NewModel()}
}

// catchUp feeds every pending line to the model and checks each line's
// form; it returns the error that ended the stream, if any.
func (f *follower) catchUp(t *testing.T, now time.Time) error {
	t.Helper()
	lines, end := drain(t, f.stream)
	for _, line := range lines {
		var ev events2.Event
		if err := events2.Parse(line, &ev); err != nil {
			t.Fatalf("%s: unparsable line %q: %v", f.node, line, err)
		}
		if f.opts.Timestamps != !ev.Time.IsZero() {
			t.Fatalf("%s: line %q: timestamp present %v, want %v", f.node, line, !ev.Time.IsZero(), f.opts.Timestamps)
		}
		if f.opts.Timestamps && ev.Time.After(now) {
			t.Fatalf("%s: line %q is from the future (now %s)", f.node, line, now)
		}
		if !f.dumped {
			if ev.Verb != events2.VerbExists {
				t.Fatalf("%s: line %q before the end of the initial dump", f.node, line)
			}
			f.dumped = ev.EndOfInitialState()
		} else if ev.Verb == events2.VerbExists {
			t.Fatalf("%s: exists line %q after the initial dump", f.node, line)
		}
		_, hasSize := ev.Get("size")
		wantStats := (f.opts.Statistics || f.opts.Full) && ev.Object == events2.ObjectDevice &&
			(ev.Verb == events2.VerbExists || ev.Verb == events2.VerbCreate || (ev.Verb == events2.VerbChange && f.opts.Full))
		if hasSize != wantStats {
			t.Fatalf("%s: line %q: statistics present %v, want %v", f.node, line, hasSize, wantStats)
		}
		if f.opts.Full && ev.Verb == events2.VerbChange && ev.Object == events2.ObjectResource {
			for _, k := range []string{"role", "suspended", "force-io-failures", "write-ordering", "may_promote", "promotion_score"} {
				if _, ok := ev.Get(k); !ok {
					t.Fatalf("%s: --full change line %q lacks %s", f.node, line, k)
				}
			}
		}
		if _, err := f.model.Apply(&ev); err != nil {
			t.Fatalf("%s: model rejected %q: %v", f.node, line, err)
		}
	}
	if !f.dumped && end == nil {
		t.Fatalf("%s: the stream has not ended its initial dump", f.node)
	}
	return end
}

// check compares the rebuilt model with the node's view of every resource.
func (f *follower) check(t *testing.T, c *drbdsim.Cluster, resources []string, step string) {
	t.Helper()
	var want []string
	for _, res := range resources {
		view, ok := c.View(f.node, res)
		if !ok {
			continue
		}
		want = append(want, res)
		got, ok := f.model.Resource(res)
		if !ok {
			t.Fatalf("%s, %s: stream has no resource %s", step, f.node, res)
		}
		if !reflect.DeepEqual(got, view) {
			t.Fatalf("%s, %s: stream built\n%+v\nbut the view is\n%+v", step, f.node, *got, *view)
		}
	}
	if got := f.model.Names(); !slices.Equal(got, want) {
		t.Fatalf("%s, %s: stream has resources %v, view has %v", step, f.node, got, want)
	}
}

// TestEventsRoundTrip rebuilds each node's state from its events2 stream
// with the project's parser and model, under every combination of flags and
// through a series of faults, and checks it equals the node's view.
func TestEventsRoundTrip(t *testing.T) {
	d := drbdsim.DefaultDelays()
	for _, opts := range flagCombinations() {
		t.Run(optsName(opts), func(t *testing.T) {
			nodes := []string{"a", "b", "c", "t"}
			c, clk := newCluster(t, nil, nodes...)
			resources := []string{"r1", "r2", "r3"}
			mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r1", Replicas: replicas("a", "b", "t:Tiebreaker")})
			mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r2", Volumes: 2, Replicas: replicas("b", "c", "a:Diskless")})

			followers := map[string]*follower{}
			for _, n := range nodes {
				followers[n] = follow(t, c, n, opts)
			}
			steps := []struct {
				name string
				do   func() error
			}{
				{"start", func() error { return nil }},
				{"open r1 on a", func() error { return c.OpenDevice("a", "r1") }},
				{"open r2 on a (diskless)", func() error { return c.OpenDevice("a", "r2") }},
				{"isolate a", func() error { return c.Partition([]string{"a"}, []string{"b", "c", "t"}) }},
				{"wait for timeout", func() error { clk.Step(d.Timeout); return nil }},
				{"wait for the peers", func() error { clk.Step(d.PingInt + d.PingTimeout - d.Timeout); return nil }},
				{"open r1 on b", func() error { return c.OpenDevice("b", "r1") }},
				{"heal", func() error { return c.Heal() }},
				{"reconnect: split brain", func() error { clk.Step(d.Reconnect); return nil }},
				{"close r1 on a", func() error { return c.CloseDevice("a", "r1") }},
				{"reconnect and resync", func() error { clk.Step(d.Reconnect); return nil }},
				{"resync done", func() error { clk.Step(d.Resync); return nil }},
				{"crash c", func() error { return c.Crash("c") }},
				{"notice c", func() error { clk.Step(d.PingInt + d.PingTimeout); return nil }},
				{"add r3", func() error {
					return c.AddResource(drbdsim.ResourceSpec{Name: "r3", Replicas: replicas("a", "b", "c")})
				}},
				{"restart c", func() error { return c.Restart("c") }},
				{"c connects", func() error { clk.Step(d.Reconnect); return nil }},
				{"take r1 down on t", func() error { return c.DownReplica("t", "r1") }},
				{"secondary --force on b", func() error { return c.Secondary("b", "r1", true) }},
				{"close r1 on b", func() error { return c.CloseDevice("b", "r1") }},
				{"bring r1 up on t", func() error { return c.UpReplica("t", "r1") }},
				{"t connects", func() error { clk.Step(d.Reconnect); return nil }},
				{"attach r3 on t", func() error {
					return c.AddReplica("r3", drbdsim.ReplicaSpec{Node: "t", Kind: drbdsim.Diskless})
				}},
				{"detach r3 from a", func() error { return c.RemoveReplica("a", "r3") }},
				{"remove r2", func() error { return c.RemoveResource("r2") }},
			}
			for _, s := range steps {
				if err := s.do(); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				must(t, c.Sync())
				for _, n := range nodes {
					f := followers[n]
					if f == nil {
						if _, err := c.Dump(n, opts); err == nil {
							// The node runs again: follow it anew.
							f = follow(t, c, n, opts)
							followers[n] = f
						} else {
							continue
						}
					}
					if end := f.catchUp(t, clk.Now()); end != nil {
						if !errors.Is(end, drbdsim.ErrNodeDown) {
							t.Fatalf("%s: stream of %s ended with %v, want ErrNodeDown", s.name, n, end)
						}
						followers[n] = nil
						continue
					}
					f.check(t, c, resources, s.name)
				}
			}
		})
	}
}

func flagCombinations() []drbdsim.SubscribeOptions {
	var out []drbdsim.SubscribeOptions
	for i := range 8 {
		out = append(out, drbdsim.SubscribeOptions{Full: i&1 != 0, Statistics: i&2 != 0, Timestamps: i&4 != 0})
	}
	return out
}

func optsName(o drbdsim.SubscribeOptions) string {
	name := "plain"
	if o.Full {
		name += "+full"
	}
	if o.Statistics {
		name += "+statistics"
	}
	if o.Timestamps {
		name += "+timestamps"
	}
	return name
}

// TestEventsGolden pins the exact lines of a small scenario.
func TestEventsGolden(t *testing.T) {
	d := drbdsim.DefaultDelays()
	c, clk := newCluster(t, nil, "a", "b")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b")})
	s, err := c.Subscribe("a", drbdsim.SubscribeOptions{})
	must(t, err)
	defer s.Close()
	dump := []string{
		"exists resource name:r role:Secondary suspended:no force-io-failures:no may_promote:yes promotion_score:10102",
		"exists device name:r volume:0 minor:1000 backing_dev:/dev/linstor_pool/r_00000 disk:UpToDate client:no open:no quorum:yes",
		"exists connection name:r peer-node-id:1 conn-name:b connection:Connected role:Secondary",
		"exists peer-device name:r peer-node-id:1 conn-name:b volume:0 replication:Established peer-disk:UpToDate peer-client:no resync-suspended:no",
		"exists path name:r peer-node-id:1 conn-name:b local:ipv4:10.0.0.1:7000 peer:ipv4:10.0.0.2:7000 established:yes",
		"exists -",
	}
	lines, _ := drain(t, s)
	if !slices.Equal(lines, dump) {
		t.Fatalf("dump:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(dump, "\n"))
	}

	must(t, c.Partition([]string{"a"}, []string{"b"}))
	clk.Step(d.PingInt + d.PingTimeout)
	must(t, c.Sync())
	lost := []string{
		"change resource name:r may_promote:no promotion_score:0",
		"change device name:r volume:0 minor:1000 backing_dev:/dev/linstor_pool/r_00000 disk:UpToDate client:no open:no quorum:no",
		"change connection name:r peer-node-id:1 conn-name:b connection:Connecting role:Unknown",
		"change peer-device name:r peer-node-id:1 conn-name:b volume:0 replication:Off peer-disk:DUnknown peer-client:no",
		"change path name:r peer-node-id:1 conn-name:b local:ipv4:10.0.0.1:7000 peer:ipv4:10.0.0.2:7000 established:no",
	}
	if lines, _ = drain(t, s); !slices.Equal(lines, lost) {
		t.Fatalf("after the loss:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(lost, "\n"))
	}

	must(t, c.RemoveResource("r"))
	gone := []string{
		"destroy path name:r peer-node-id:1 conn-name:b local:ipv4:10.0.0.1:7000 peer:ipv4:10.0.0.2:7000",
		"destroy peer-device name:r peer-node-id:1 conn-name:b volume:0",
		"destroy connection name:r peer-node-id:1 conn-name:b",
		"destroy device name:r volume:0",
		"destroy resource name:r",
	}
	if lines, _ = drain(t, s); !slices.Equal(lines, gone) {
		t.Fatalf("after removal:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(gone, "\n"))
	}
}

// TestEventsKeyOrderMatchesFixtures checks that every object's keys come in
// the order of real drbdsetup output.
func TestEventsKeyOrderMatchesFixtures(t *testing.T) {
	fixtures := map[string]string{
		"plain":      "events2-all-create-change.plain.txt",
		"statistics": "events2-all-create-change.full.txt",
	}
	for name, file := range fixtures {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "pkg", "drbd", "testdata", "events2", file))
			if err != nil {
				t.Skipf("fixture not available: %v", err)
			}
			want := map[events2.Object][]string{}
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				var ev events2.Event
				must(t, events2.Parse(line, &ev))
				if ev.Verb == events2.VerbCreate {
					want[ev.Object] = keysOf(&ev)
				}
			}
			c, _ := newCluster(t, noDelays(), "a", "b")
			mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b")})
			lines, err := c.Dump("a", drbdsim.SubscribeOptions{Statistics: name == "statistics"})
			must(t, err)
			for _, line := range lines {
				var ev events2.Event
				must(t, events2.Parse(line, &ev))
				if ev.EndOfInitialState() {
					continue
				}
				if got := keysOf(&ev); !slices.Equal(got, want[ev.Object]) {
					t.Errorf("%s keys %v, fixture has %v", ev.Object, got, want[ev.Object])
				}
			}
		})
	}
}

func keysOf(ev *events2.Event) []string {
	var keys []string
	for _, f := range ev.Fields {
		keys = append(keys, f.Key)
	}
	return keys
}

// TestDump checks the --now dump and the start of a stream.
func TestDump(t *testing.T) {
	c, clk := newCluster(t, nil, "a", "b")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b")})
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "s", Replicas: replicas("a", "b")})
	lines, err := c.Dump("a", drbdsim.SubscribeOptions{Resource: "s", Timestamps: true})
	must(t, err)
	if len(lines) != 6 {
		t.Fatalf("dump of one resource has %d lines, want 6:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	stamp := clk.Now().Local().Format(events2.TimeLayout)
	if last := lines[len(lines)-1]; last != stamp+" exists -" {
		t.Errorf("last line %q, want %q", last, stamp+" exists -")
	}
	for _, line := range lines[:len(lines)-1] {
		if !strings.HasPrefix(line, stamp+" exists ") || !strings.Contains(line, "name:s ") {
			t.Errorf("line %q is not an exists line of s at %s", line, stamp)
		}
	}

	must(t, c.Crash("b"))
	if _, err := c.Dump("b", drbdsim.SubscribeOptions{}); !errors.Is(err, drbdsim.ErrNodeDown) {
		t.Errorf("dump of a crashed node: %v, want ErrNodeDown", err)
	}
	if _, err := c.Subscribe("nobody", drbdsim.SubscribeOptions{}); !errors.Is(err, drbdsim.ErrUnknownNode) {
		t.Errorf("subscribe to an unknown node: %v, want ErrUnknownNode", err)
	}

	empty, err := c.Dump("a", drbdsim.SubscribeOptions{Resource: "nothing"})
	must(t, err)
	if !slices.Equal(empty, []string{"exists -"}) {
		t.Errorf("dump of an unknown resource = %q, want just exists -", empty)
	}
}

// TestStreamEnds checks how streams end.
func TestStreamEnds(t *testing.T) {
	c, _ := newCluster(t, noDelays(), "a", "b")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b")})
	crashed, err := c.Subscribe("a", drbdsim.SubscribeOptions{})
	must(t, err)
	closed, err := c.Subscribe("b", drbdsim.SubscribeOptions{})
	must(t, err)

	closed.Close()
	if _, err := closed.Next(context.Background()); !errors.Is(err, drbdsim.ErrStreamClosed) {
		t.Errorf("closed stream: %v, want ErrStreamClosed", err)
	}

	// A blocked reader wakes up when the node crashes.
	got := make(chan error, 1)
	go func() {
		for {
			if _, err := crashed.Next(context.Background()); err != nil {
				got <- err
				return
			}
		}
	}()
	must(t, c.Crash("a"))
	select {
	case err := <-got:
		if !errors.Is(err, drbdsim.ErrNodeDown) {
			t.Errorf("stream of a crashed node ended with %v, want ErrNodeDown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream of a crashed node did not end")
	}

	last, err := c.Subscribe("b", drbdsim.SubscribeOptions{})
	must(t, err)
	c.Close()
	if _, err := drain(t, last); !errors.Is(err, drbdsim.ErrClosed) {
		t.Errorf("stream of a closed cluster ended with %v, want ErrClosed", err)
	}
	if err := c.AddNode("x"); !errors.Is(err, drbdsim.ErrClosed) {
		t.Errorf("AddNode after Close: %v, want ErrClosed", err)
	}
}
