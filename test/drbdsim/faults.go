package drbdsim

import (
	"fmt"
)

// Crash stops a node at once: its DRBD views vanish, its streams end with
// ErrNodeDown, its applications are gone. Peers notice after their
// detection delay.
func (c *Cluster) Crash(name string) error {
	return c.do(func() error {
		n, err := c.upNode(name)
		if err != nil {
			return fmt.Errorf("failed to crash node: %w", err)
		}
		n.up = false
		for _, res := range c.sortedResources() {
			if r := res.replicaOn(n); r != nil {
				c.discardView(r)
			}
		}
		n.endStreams(fmt.Errorf("%w: %q crashed", ErrNodeDown, name))
		return nil
	})
}

// Restart boots a crashed node. Its replicas come back Secondary; a diskful
// replica comes back Outdated when it missed writes, Consistent otherwise,
// and becomes UpToDate or resyncs once it connects to its peers.
func (c *Cluster) Restart(name string) error {
	return c.do(func() error {
		n, err := c.node(name)
		if err != nil {
			return fmt.Errorf("failed to restart node: %w", err)
		}
		if n.up {
			return fmt.Errorf("failed to restart node %q: it is running", name)
		}
		n.up = true
		for _, res := range c.sortedResources() {
			if r := res.replicaOn(n); r != nil && !r.down {
				c.startReplica(r)
			}
		}
		return nil
	})
}

// Partition cuts the replication network between every node of a and every
// node of b, both ways. Cuts add up until Heal.
func (c *Cluster) Partition(a, b []string) error {
	return c.do(func() error {
		pairs, err := c.pairs(a, b)
		if err != nil {
			return fmt.Errorf("failed to partition: %w", err)
		}
		for _, p := range pairs {
			c.cut[p] = true
		}
		return nil
	})
}

// HealPartition restores the links between every node of a and every node
// of b.
func (c *Cluster) HealPartition(a, b []string) error {
	return c.do(func() error {
		pairs, err := c.pairs(a, b)
		if err != nil {
			return fmt.Errorf("failed to heal: %w", err)
		}
		for _, p := range pairs {
			delete(c.cut, p)
		}
		return nil
	})
}

// Heal restores every link of the replication network.
func (c *Cluster) Heal() error {
	return c.do(func() error {
		clear(c.cut)
		return nil
	})
}

func (c *Cluster) pairs(a, b []string) ([]nodePair, error) {
	inA := make(map[string]bool, len(a))
	for _, name := range a {
		if _, err := c.node(name); err != nil {
			return nil, err
		}
		inA[name] = true
	}
	var pairs []nodePair
	for _, name := range b {
		if _, err := c.node(name); err != nil {
			return nil, err
		}
		if inA[name] {
			return nil, fmt.Errorf("%w: node %q is on both sides", ErrInvalid, name)
		}
		for _, x := range a {
			pairs = append(pairs, pairOf(x, name))
		}
	}
	return pairs, nil
}
