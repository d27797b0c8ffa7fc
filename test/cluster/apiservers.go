package cluster

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Faults of the control plane of a cluster with an API server per room
// (Options.APIServerPerRoom); with one API server, room is ignored and the
// one is meant.

// LoseRoom loses a whole room at once: its API server and its etcd member
// freeze with their connections open, as a partition leaves them to
// everyone outside (no FIN, no RST, no answer), and every node of the room
// crashes.
func (c *Cluster) LoseRoom(room string) error {
	if !c.opts.APIServerPerRoom {
		return fmt.Errorf("losing room %s needs an API server per room: the single API server would go with it", room)
	}
	if err := c.FreezeAPIServer(room); err != nil {
		return err
	}
	for _, m := range c.cp.members {
		if m.room == room && !m.frozen {
			m.proc.signal(syscall.SIGSTOP)
			m.frozen = true
		}
	}
	for _, n := range c.Nodes() {
		if n.Spec.Zone == room && n.up {
			if err := c.CrashNode(n.Spec.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// FreezeAPIServer black-holes room's API server: it stops answering, the
// connections to it stay open and hang, and nodes' load balancers cannot
// connect to it any more. Its etcd member keeps running.
func (c *Cluster) FreezeAPIServer(room string) error {
	s, err := c.cp.serverOf(room)
	if err != nil {
		return err
	}
	if s.frozen {
		return nil
	}
	c.network.setLost(s.name, true)
	s.proc.signal(syscall.SIGSTOP)
	s.frozen = true
	return nil
}

// ThawAPIServer undoes FreezeAPIServer: the connections still open carry
// traffic again.
func (c *Cluster) ThawAPIServer(room string) error {
	s, err := c.cp.serverOf(room)
	if err != nil {
		return err
	}
	if !s.frozen {
		return nil
	}
	s.proc.signal(syscall.SIGCONT)
	s.frozen = false
	c.network.setLost(s.name, false)
	return nil
}

// RestartAPIServerOf kills room's API server, as a crash or an upgrade
// does (its connections close), and starts it again on the same port after
// down. The nodes whose connections it closed and that reconnect meanwhile
// go to another API server and stay there.
func (c *Cluster) RestartAPIServerOf(ctx context.Context, room string, down time.Duration) error {
	s, err := c.cp.serverOf(room)
	if err != nil {
		return err
	}
	if s.frozen {
		return fmt.Errorf("the API server of room %s is frozen", room)
	}
	s.proc.kill()
	select {
	case <-time.After(down):
	case <-ctx.Done():
		return ctx.Err()
	}
	return c.cp.startAPIServer(ctx, s)
}

// reflectorBackoffMax is the longest that client-go's reflectors wait
// between two attempts to list and watch again after failures.
const reflectorBackoffMax = 30 * time.Second

// MoveRoomToAPIServerOf puts the nodes of room on the API server of other:
// it restarts room's API server (down for 5 s, as in an upgrade), waits
// until each of room's nodes holds a connection to other's, and then
// until the controllers and schedulers have their watches back. Those
// are connected to room's API server: its restart fails their watches,
// and the new one refuses them until its authoriser has synced, so their
// reflectors back off for up to reflectorBackoffMax. An upgrade long past
// leaves them watching again; a scenario that starts right after the
// restart would measure their back-off, not itself.
func (c *Cluster) MoveRoomToAPIServerOf(ctx context.Context, room, other string) error {
	if err := c.RestartAPIServerOf(ctx, room, 5*time.Second); err != nil {
		return err
	}
	restarted := time.Now()
	var nodes []string
	for _, n := range c.Nodes() {
		if n.Spec.Zone == room && n.up {
			nodes = append(nodes, n.Spec.Name)
		}
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		for _, n := range nodes {
			conns, err := c.APIConnections(n)
			if err != nil || conns[other] == 0 {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("%s's nodes did not connect to the API server of %s: %w", room, other, err)
	}
	select {
	case <-time.After(time.Until(restarted.Add(reflectorBackoffMax + 2*time.Second))):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// CutAPIPath black-holes one node's way to room's API server, or restores
// it: the node's connections to that server hang, and its load balancer
// then connects to another one.
func (c *Cluster) CutAPIPath(node, room string, cut bool) error {
	n, err := c.Node(node)
	if err != nil {
		return err
	}
	s, err := c.cp.serverOf(room)
	if err != nil {
		return err
	}
	c.network.setPathCut(n.Spec.Name, s.name, cut)
	return nil
}

// APIConnections counts, by room of the API server, the connections the
// node's load balancer holds open; the room is "" with one API server.
func (c *Cluster) APIConnections(node string) (map[string]int, error) {
	n, err := c.Node(node)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for name, count := range n.proxy.connections() {
		for _, s := range c.cp.servers {
			if s.name == name {
				out[s.room] += count
			}
		}
	}
	return out, nil
}

// LosableAPIServerRooms are the rooms whose API server a test may freeze
// while the cluster's controllers and the harness keep theirs: every room
// with an API server of its own but the primary's.
func (c *Cluster) LosableAPIServerRooms() []string {
	var rooms []string
	for _, s := range c.cp.servers {
		if s.room != "" && s != c.cp.primary() {
			rooms = append(rooms, s.room)
		}
	}
	return rooms
}
