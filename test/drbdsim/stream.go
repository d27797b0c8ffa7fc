package drbdsim

import (
	"context"
	"slices"
	"sync"
)

// SubscribeOptions are the options of `drbdsetup events2`.
type SubscribeOptions struct {
	// Resource limits the stream to one resource; "" or "all" means all.
	Resource string
	// Full prints every field on every change line, statistics included.
	Full bool
	// Statistics adds the counters.
	Statistics bool
	// Timestamps prefixes every line with the time of the event.
	Timestamps bool
}

func (o SubscribeOptions) statistics() bool { return o.Statistics || o.Full }

func (o SubscribeOptions) wants(res string) bool {
	return o.Resource == "" || o.Resource == "all" || o.Resource == res
}

// Stream is an events2 subscription to one node. It starts with the dump of
// the node's current state (ending with "exists -") and then carries every
// change. It ends when the node crashes (ErrNodeDown), the cluster closes
// (ErrClosed) or the subscriber closes it (ErrStreamClosed).
type Stream struct {
	opts    SubscribeOptions
	cluster *Cluster
	node    *node

	mu    sync.Mutex
	lines []string
	err   error
	// ready is signalled whenever lines or err change.
	ready chan struct{}
}

// Subscribe follows the events2 stream of a node, as `drbdsetup events2`
// without --now does.
func (c *Cluster) Subscribe(nodeName string, opts SubscribeOptions) (*Stream, error) {
	var s *Stream
	err := c.do(func() error {
		n, err := c.upNode(nodeName)
		if err != nil {
			return err
		}
		if len(n.streams) == 0 {
			// Nobody follows the node, so nothing was published: start
			// from what it reports now.
			n.published = c.renderNode(n)
		}
		s = &Stream{opts: opts, cluster: c, node: n, ready: make(chan struct{}, 1)}
		s.lines = dumpLines(n.published, opts, c.now)
		n.streams[s] = struct{}{}
		return nil
	})
	return s, err
}

// Dump returns the initial state dump of a node, as `drbdsetup events2
// --now` prints it.
func (c *Cluster) Dump(nodeName string, opts SubscribeOptions) ([]string, error) {
	var lines []string
	err := c.do(func() error {
		n, err := c.upNode(nodeName)
		if err != nil {
			return err
		}
		lines = dumpLines(c.renderNode(n), opts, c.now)
		return nil
	})
	return lines, err
}

// Next returns the next line, waiting for it. At the end of the stream it
// returns the reason, after the lines that were sent before. A stream has
// one reader: Next must not be called concurrently.
func (s *Stream) Next(ctx context.Context) (string, error) {
	for {
		s.mu.Lock()
		if len(s.lines) > 0 {
			line := s.lines[0]
			s.lines = s.lines[1:]
			s.mu.Unlock()
			return line, nil
		}
		err := s.err
		s.mu.Unlock()
		if err != nil {
			return "", err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-s.ready:
		}
	}
}

// Close ends the subscription; Next then returns ErrStreamClosed.
func (s *Stream) Close() {
	s.cluster.mu.Lock()
	delete(s.node.streams, s)
	s.cluster.mu.Unlock()
	s.mu.Lock()
	s.lines = nil
	s.mu.Unlock()
	s.end(ErrStreamClosed)
}

func (s *Stream) push(lines []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	s.lines = append(s.lines, lines...)
	s.signal()
}

func (s *Stream) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	s.signal()
}

func (s *Stream) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

func (n *node) endStreams(err error) {
	for s := range n.streams {
		s.end(err)
	}
	clear(n.streams)
	n.published = nil
}

// publishLocked tells every stream what changed in its node's view since
// the last time.
func (c *Cluster) publishLocked() {
	for _, n := range c.nodeList {
		if !n.up || len(n.streams) == 0 {
			continue
		}
		current := c.renderNode(n)
		names := make([]string, 0, len(current)+len(n.published))
		for name := range current {
			names = append(names, name)
		}
		for name := range n.published {
			if _, ok := current[name]; !ok {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			changes := diffObjects(n.published[name], current[name])
			if len(changes) == 0 {
				continue
			}
			for s := range n.streams {
				if !s.opts.wants(name) {
					continue
				}
				var lines []string
				for _, ch := range changes {
					if line, ok := formatChange(ch, s.opts, c.now); ok {
						lines = append(lines, line)
					}
				}
				s.push(lines)
			}
		}
		n.published = current
	}
}
