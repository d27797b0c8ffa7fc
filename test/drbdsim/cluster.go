package drbdsim

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Cluster is a simulated DRBD cluster. Create it with New and release it
// with Close.
type Cluster struct {
	clock  clock.WithDelayedExecution
	delays Delays

	// mu guards everything below. Timer callbacks never take it: they only
	// wake the loop goroutine (see timers.go), because a fake clock runs
	// them while holding its own lock.
	mu        sync.Mutex
	closed    bool
	nodes     map[string]*node
	nodeList  []*node
	resources map[string]*resource
	cut       map[nodePair]bool
	nextMinor uint32
	nextPort  uint16

	// now is the simulated time of what is being applied: the clock's time,
	// or the due time of the timer that fires.
	now     time.Time
	timers  timerQueue
	seq     uint64
	alarm   clock.Timer
	alarmAt time.Time

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

// node is a machine of the cluster.
type node struct {
	name string
	// index orders the nodes and gives each its replication address.
	index int
	up    bool
	// streams are the open events2 subscriptions; published is what they
	// have been told, per resource.
	streams   map[*Stream]struct{}
	published map[string][]object
}

// nodePair names a link of the replication network, in name order.
type nodePair struct{ a, b string }

func pairOf(a, b string) nodePair {
	if b < a {
		a, b = b, a
	}
	return nodePair{a, b}
}

// New returns an empty cluster. Close it to stop its timers and streams.
func New(opts Options) (*Cluster, error) {
	delays := DefaultDelays()
	if opts.Delays != nil {
		delays = *opts.Delays
	}
	if err := delays.validate(); err != nil {
		return nil, err
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	c := &Cluster{
		clock:     clk,
		delays:    delays,
		nodes:     make(map[string]*node),
		resources: make(map[string]*resource),
		cut:       make(map[nodePair]bool),
		nextMinor: 1000,
		nextPort:  7000,
		now:       clk.Now(),
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	go c.loop()
	return c, nil
}

// Delays returns the delays the cluster runs with.
func (c *Cluster) Delays() Delays { return c.delays }

// Close stops the cluster's timers and ends every stream with ErrClosed.
// Every later call fails with ErrClosed. Close is idempotent.
func (c *Cluster) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.alarm != nil {
		c.alarm.Stop()
		c.alarm = nil
	}
	c.timers = nil
	for _, n := range c.nodeList {
		n.endStreams(ErrClosed)
	}
	c.mu.Unlock()
	close(c.stop)
	<-c.done
}

// do runs a change under the lock: it first catches up with the clock, then
// applies fn, then lets DRBD react to it.
func (c *Cluster) do(fn func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.settleLocked()
	if err := fn(); err != nil {
		return err
	}
	c.settleLocked()
	return nil
}

// read runs fn under the lock after catching up with the clock.
func (c *Cluster) read(fn func()) error {
	return c.do(func() error { fn(); return nil })
}

// Sync applies every transition that is due at the clock's current time and
// publishes it to the streams. Every method does so first; after stepping a
// fake clock, a test that only reads streams calls Sync, since otherwise
// the cluster catches up asynchronously.
func (c *Cluster) Sync() error {
	return c.read(func() {})
}

// AddNode adds a running node without resources.
func (c *Cluster) AddNode(name string) error {
	if err := validName("node", name); err != nil {
		return err
	}
	return c.do(func() error {
		if _, ok := c.nodes[name]; ok {
			return fmt.Errorf("failed to add node %q: %w", name, ErrExists)
		}
		n := &node{name: name, index: len(c.nodeList), up: true, streams: make(map[*Stream]struct{})}
		c.nodes[name] = n
		c.nodeList = append(c.nodeList, n)
		return nil
	})
}

// Nodes returns the names of the nodes in the order they were added.
func (c *Cluster) Nodes() []string {
	var names []string
	_ = c.read(func() {
		for _, n := range c.nodeList {
			names = append(names, n.name)
		}
	})
	return names
}

func (c *Cluster) node(name string) (*node, error) {
	n, ok := c.nodes[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownNode, name)
	}
	return n, nil
}

func (c *Cluster) upNode(name string) (*node, error) {
	n, err := c.node(name)
	if err != nil {
		return nil, err
	}
	if !n.up {
		return nil, fmt.Errorf("%w: %q crashed", ErrNodeDown, name)
	}
	return n, nil
}

// liveReplica returns the replica of a resource on a running node, where
// DRBD has the resource up.
func (c *Cluster) liveReplica(nodeName, resName string) (*replica, error) {
	n, err := c.upNode(nodeName)
	if err != nil {
		return nil, err
	}
	res, ok := c.resources[resName]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownResource, resName)
	}
	r := res.replicaOn(n)
	if r == nil || r.view == nil {
		return nil, fmt.Errorf("%w %q on node %q", ErrUnknownResource, resName, nodeName)
	}
	return r, nil
}

// sortedResources returns the resources in name order, so that everything
// the cluster does is deterministic.
func (c *Cluster) sortedResources() []*resource {
	list := make([]*resource, 0, len(c.resources))
	for _, r := range c.resources {
		list = append(list, r)
	}
	slices.SortFunc(list, func(a, b *resource) int { return cmp.Compare(a.spec.Name, b.spec.Name) })
	return list
}
