package drbdsim_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// TestRealClock checks that, on the real clock, transitions apply on their
// own: a stream sees the loss of a peer without anyone calling the cluster.
func TestRealClock(t *testing.T) {
	c, err := drbdsim.New(drbdsim.Options{Delays: &drbdsim.Delays{
		PingInt: 20 * time.Millisecond, PingTimeout: 5 * time.Millisecond, Timeout: 10 * time.Millisecond,
		Reconnect: 5 * time.Millisecond, Resync: 5 * time.Millisecond,
	}})
	must(t, err)
	defer c.Close()
	must(t, c.AddNode("a"))
	must(t, c.AddNode("b"))
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b")})
	s, err := c.Subscribe("a", drbdsim.SubscribeOptions{})
	must(t, err)
	defer s.Close()
	must(t, c.Partition([]string{"a"}, []string{"b"}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		line, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("no loss seen: %v", err)
		}
		if strings.HasPrefix(line, "change connection name:r peer-node-id:1 conn-name:b connection:Connecting") {
			break
		}
	}
	must(t, c.Heal())
	for {
		line, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("no reconnect seen: %v", err)
		}
		if strings.HasPrefix(line, "change connection name:r peer-node-id:1 conn-name:b connection:Connected") {
			break
		}
	}
}

func TestValidation(t *testing.T) {
	if _, err := drbdsim.New(drbdsim.Options{Delays: &drbdsim.Delays{PingInt: -time.Second}}); !errors.Is(err, drbdsim.ErrInvalid) {
		t.Errorf("negative delay: %v, want ErrInvalid", err)
	}
	c, _ := newCluster(t, noDelays(), "a", "b")
	for _, name := range []string{"", "all", "-x", "a b", "a:b", "a/b"} {
		if err := c.AddNode(name); !errors.Is(err, drbdsim.ErrInvalid) {
			t.Errorf("node name %q: %v, want ErrInvalid", name, err)
		}
	}
	if err := c.AddNode("a"); !errors.Is(err, drbdsim.ErrExists) {
		t.Errorf("second node a: %v, want ErrExists", err)
	}
	tests := []struct {
		name string
		spec drbdsim.ResourceSpec
		want error
	}{
		{"no replicas", drbdsim.ResourceSpec{Name: "r"}, drbdsim.ErrInvalid},
		{"bad name", drbdsim.ResourceSpec{Name: "r 1", Replicas: replicas("a")}, drbdsim.ErrInvalid},
		{"bad quorum", drbdsim.ResourceSpec{Name: "r", Quorum: "all", Replicas: replicas("a")}, drbdsim.ErrInvalid},
		{"bad on-no-quorum", drbdsim.ResourceSpec{Name: "r", OnNoQuorum: "panic", Replicas: replicas("a")}, drbdsim.ErrInvalid},
		{"bad on-suspended-primary-outdated", drbdsim.ResourceSpec{Name: "r", OnSuspendedPrimaryOutdated: "secondary", Replicas: replicas("a")}, drbdsim.ErrInvalid},
		{"bad kind", drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a:Remote")}, drbdsim.ErrInvalid},
		{"two replicas on a node", drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "a")}, drbdsim.ErrInvalid},
		{"too many volumes", drbdsim.ResourceSpec{Name: "r", Volumes: 1000, Replicas: replicas("a")}, drbdsim.ErrInvalid},
		{"unknown node", drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "z")}, drbdsim.ErrUnknownNode},
	}
	for _, tt := range tests {
		if err := c.AddResource(tt.spec); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b")})
	if err := c.AddResource(drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a")}); !errors.Is(err, drbdsim.ErrExists) {
		t.Errorf("second resource r: %v, want ErrExists", err)
	}
	if err := c.Partition([]string{"a"}, []string{"a", "b"}); !errors.Is(err, drbdsim.ErrInvalid) {
		t.Errorf("node on both sides: %v, want ErrInvalid", err)
	}
	if err := c.Restart("a"); err == nil {
		t.Errorf("restarting a running node succeeded")
	}
	must(t, c.Crash("a"))
	if err := c.Crash("a"); !errors.Is(err, drbdsim.ErrNodeDown) {
		t.Errorf("crashing a crashed node: %v, want ErrNodeDown", err)
	}
	if err := c.OpenDevice("a", "r"); !errors.Is(err, drbdsim.ErrNodeDown) {
		t.Errorf("open on a crashed node: %v, want ErrNodeDown", err)
	}
	if _, ok := c.View("a", "r"); ok {
		t.Errorf("a crashed node has a view")
	}
	if minor, err := c.DeviceMinor("r", 0); err != nil || minor != 1000 {
		t.Errorf("minor of r = %d, %v; want 1000", minor, err)
	}
}

// TestPrimarySemantics covers drbdsetup primary and secondary.
func TestPrimarySemantics(t *testing.T) {
	c, _ := newCluster(t, noDelays(), "a", "b", "t")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b", "t:Tiebreaker")})
	stateErr := func(err error) int {
		var sce *drbdsim.StateChangeError
		if !errors.As(err, &sce) {
			t.Fatalf("%v is not a state change error", err)
		}
		return sce.Code
	}

	// An explicit Primary stays Primary when the device is closed.
	must(t, c.Primary("a", "r", false))
	must(t, c.OpenDevice("a", "r"))
	must(t, c.CloseDevice("a", "r"))
	if v := mustView(t, c, "a", "r"); v.Role != "Primary" {
		t.Errorf("explicit Primary after close: %s", v.Role)
	}
	if code := stateErr(c.Primary("b", "r", false)); code != drbdsim.SSTwoPrimaries {
		t.Errorf("second Primary: code %d", code)
	}
	var oe *drbdsim.OpenError
	if err := c.OpenDevice("t", "r"); !errors.As(err, &oe) || !strings.Contains(err.Error(), "Read-only file system") {
		t.Errorf("open beside a Primary: %v, want a read-only OpenError", err)
	}
	must(t, c.Secondary("a", "r", false))

	// Without quorum, no promotion, forced or not.
	must(t, c.Partition([]string{"a"}, []string{"b", "t"}))
	if code := stateErr(c.Primary("a", "r", true)); code != drbdsim.SSNoQuorum {
		t.Errorf("promotion without quorum: code %d", code)
	}
	must(t, c.Heal())

	// A tiebreaker alone has no data to promote with; forcing does not help.
	must(t, c.Crash("a"))
	must(t, c.Crash("b"))
	if err := c.Primary("t", "r", true); err == nil {
		t.Errorf("a lone tiebreaker was promoted")
	}
}
