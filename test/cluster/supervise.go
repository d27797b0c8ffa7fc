package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/client-go/util/flowcontrol"
)

// The schedulers run in Deployments' pods, whose containers the kubelet
// starts again when they exit (restartPolicy Always). kube-scheduler, and
// linstor-ha's scheduler built from it, exit by design when they cannot
// renew their leader-election Lease within its renew deadline (an API
// server restarting or not yet authorising for ten seconds is enough) or
// find their cache inconsistent. The supervisor does what the kubelet
// does: it starts an exited scheduler again at once, and after a second
// exit waits out the kubelet's crash-loop back-off (10 s, doubling up to
// 5 min, forgotten after 10 min without a restart), with the back-off of
// client-go that the kubelet itself uses.
const (
	crashLoopInitial = 10 * time.Second
	crashLoopMax     = 5 * time.Minute
)

// supervisor restarts the schedulers that exited without being stopped.
type supervisor struct {
	backoff *flowcontrol.Backoff
	cancel  context.CancelFunc
	done    chan struct{}

	mu       sync.Mutex
	restarts []string
}

// superviseSchedulers starts the cluster's supervisor; Stop ends it.
func (c *Cluster) superviseSchedulers() {
	ctx, cancel := context.WithCancel(context.Background())
	s := &supervisor{backoff: flowcontrol.NewBackOff(crashLoopInitial, crashLoopMax), cancel: cancel, done: make(chan struct{})}
	c.supervisor = s
	go func() {
		defer close(s.done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			c.restartExitedSchedulers(ctx)
		}
	}()
}

// restartExitedSchedulers starts again each scheduler that exited and is
// not in its back-off, and records why it did.
func (c *Cluster) restartExitedSchedulers(ctx context.Context) {
	c.schedMu.Lock()
	defer c.schedMu.Unlock()
	s := c.supervisor
	now := time.Now()
	restart := func(name string, p *process, start func() error) {
		if p == nil {
			return
		}
		exited, how := p.exited()
		if !exited || s.backoff.IsInBackOffSinceUpdate(name, now) {
			return
		}
		s.backoff.Next(name, now)
		// Before the new process appends to the same log.
		tail := p.logTail()
		err := start()
		c.opts.Logf("%s exited (%v) and was started again (%v)", name, how, err)
		s.mu.Lock()
		s.restarts = append(s.restarts, fmt.Sprintf("%s exited (%v) and was started again (%v); its log ends:\n%s", name, how, err, tail))
		s.mu.Unlock()
	}
	restart("kube-scheduler", c.cp.scheduler, func() error { return c.cp.startScheduler(ctx, c.opts.SchedulerQPS) })
	restart("linstor-ha-scheduler", c.linstorScheduler, func() error {
		c.linstorScheduler = nil
		return c.startSchedulerLocked(ctx)
	})
}

// TakeSchedulerRestarts returns, once each, why the supervisor started a
// scheduler again since the last call.
func (c *Cluster) TakeSchedulerRestarts() []string {
	if c.supervisor == nil {
		return nil
	}
	c.supervisor.mu.Lock()
	defer c.supervisor.mu.Unlock()
	out := c.supervisor.restarts
	c.supervisor.restarts = nil
	return out
}

// stopSupervisor ends the supervisor, so that Stop's ends are not taken
// for exits.
func (c *Cluster) stopSupervisor() {
	if c.supervisor != nil {
		c.supervisor.cancel()
		<-c.supervisor.done
	}
}
