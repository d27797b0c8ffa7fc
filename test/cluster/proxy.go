package cluster

import (
	"net"
	"sync"
	"time"
)

// apiNetwork is the network between the nodes and the API servers. A cut
// in it behaves as a partition does: bytes stop flowing both ways and
// nothing is closed, no FIN and no RST; a connection opened across it
// hangs until its dialer gives up. Healing lets the connections that are
// still open carry traffic again, with what was sent meanwhile, as TCP's
// retransmissions deliver it.
type apiNetwork struct {
	mu sync.Mutex
	// changed is closed, and replaced, on every change.
	changed chan struct{}
	// isolated nodes reach no API server; lost API servers are reached by
	// nobody; cutPaths are single node/server paths.
	isolated map[string]bool
	lost     map[string]bool
	cutPaths map[[2]string]bool
}

func newAPINetwork() *apiNetwork {
	return &apiNetwork{
		changed:  make(chan struct{}),
		isolated: map[string]bool{},
		lost:     map[string]bool{},
		cutPaths: map[[2]string]bool{},
	}
}

// reachable reports whether node reaches server now, and a channel that
// is closed on the next change.
func (n *apiNetwork) reachable(node, server string) (bool, <-chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.isolated[node] && !n.lost[server] && !n.cutPaths[[2]string{node, server}], n.changed
}

func (n *apiNetwork) update(change func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	change()
	close(n.changed)
	n.changed = make(chan struct{})
}

func (n *apiNetwork) setIsolated(node string, cut bool) {
	n.update(func() { n.isolated[node] = cut })
}

func (n *apiNetwork) setLost(server string, lost bool) {
	n.update(func() { n.lost[server] = lost })
}

func (n *apiNetwork) setPathCut(node, server string, cut bool) {
	n.update(func() { n.cutPaths[[2]string{node, server}] = cut })
}

// apiUpstream is one API server as a node's load balancer knows it.
type apiUpstream struct {
	name, addr string
}

// Timings of a node-local load balancer in front of the API servers, as
// the ones of cluster installers are set up: a second to connect, then the
// server counts as down for ten seconds and the next one is tried.
const (
	proxyConnectTimeout = time.Second
	proxyFailTimeout    = 10 * time.Second
)

// apiProxy is a node's way to the API servers: a loopback TCP load
// balancer that tries the servers in order of preference (its own room's
// first) and passes TLS through untouched. It knows nothing of the cuts
// but what it sees: a connection that hangs, a dial that does not
// complete.
type apiProxy struct {
	listener  net.Listener
	node      string
	upstreams []apiUpstream
	network   *apiNetwork
	done      chan struct{}

	mu        sync.Mutex
	downUntil map[string]time.Time
	// conns are the open connections, each with the name of its API
	// server, empty for the node's side.
	conns  map[net.Conn]string
	closed bool
	wg     sync.WaitGroup
}

func newAPIProxy(node string, network *apiNetwork, upstreams []apiUpstream) (*apiProxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &apiProxy{
		listener: l, node: node, upstreams: upstreams, network: network, done: make(chan struct{}),
		downUntil: map[string]time.Time{}, conns: map[net.Conn]string{},
	}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

func (p *apiProxy) addr() string { return p.listener.Addr().String() }

func (p *apiProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.listener.Accept()
		if err != nil {
			return
		}
		if !p.track(c, "") {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.handle(c)
	}
}

// track remembers an open connection; false once the proxy is closed.
func (p *apiProxy) track(c net.Conn, server string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = server
	return true
}

// connections counts the open connections by API server.
func (p *apiProxy) connections() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for _, server := range p.conns {
		if server != "" {
			out[server]++
		}
	}
	return out
}

func (p *apiProxy) drop(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *apiProxy) handle(c net.Conn) {
	defer p.wg.Done()
	defer p.drop(c)
	up, server := p.dial()
	if up == nil {
		return
	}
	if !p.track(up, server) {
		up.Close()
		return
	}
	defer p.drop(up)
	done := make(chan struct{}, 2)
	p.wg.Add(2)
	go p.pipe(up, c, server, done)
	go p.pipe(c, up, server, done)
	select {
	case <-done:
	case <-p.done:
	}
}

// dial connects to the first server that answers, in order of preference
// among those not marked down, then the others. A server it cannot reach
// costs proxyConnectTimeout and is marked down for proxyFailTimeout.
func (p *apiProxy) dial() (net.Conn, string) {
	now := time.Now()
	var order []apiUpstream
	var down []apiUpstream
	p.mu.Lock()
	for _, u := range p.upstreams {
		if now.Before(p.downUntil[u.name]) {
			down = append(down, u)
		} else {
			order = append(order, u)
		}
	}
	p.mu.Unlock()
	for _, u := range append(order, down...) {
		if c := p.dialOne(u); c != nil {
			return c, u.name
		}
		p.mu.Lock()
		p.downUntil[u.name] = time.Now().Add(proxyFailTimeout)
		p.mu.Unlock()
	}
	return nil, ""
}

// dialOne connects to u unless the network drops the way there for the
// whole connect timeout, as it drops a SYN.
func (p *apiProxy) dialOne(u apiUpstream) net.Conn {
	deadline := time.NewTimer(proxyConnectTimeout)
	defer deadline.Stop()
	for {
		ok, changed := p.network.reachable(p.node, u.name)
		if ok {
			c, err := net.DialTimeout("tcp", u.addr, proxyConnectTimeout)
			if err != nil {
				return nil
			}
			return c
		}
		select {
		case <-changed:
		case <-deadline.C:
			return nil
		case <-p.done:
			return nil
		}
	}
}

// pipe copies src to dst while the network lets it: during a cut it holds
// what it read, and the end of src, until the cut heals.
func (p *apiProxy) pipe(dst, src net.Conn, server string, done chan<- struct{}) {
	defer p.wg.Done()
	defer func() { done <- struct{}{} }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if !p.waitReachable(server) {
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// waitReachable blocks while the node cannot reach server; false when the
// proxy closes first.
func (p *apiProxy) waitReachable(server string) bool {
	for {
		ok, changed := p.network.reachable(p.node, server)
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-p.done:
			return false
		}
	}
}

// close ends the proxy and every connection through it.
func (p *apiProxy) close() {
	p.listener.Close()
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.done)
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
