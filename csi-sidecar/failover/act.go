package failover

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// phases order the actions of one decision: the taint first, so that
// nothing new is scheduled there; then the pods; then, for volumes whose pods
// are all gone, what makes them detachable; demotions and untaints last.
// Pod and attachment calls of a phase run in parallel, and a node's volumes
// are released in one update: a node that ran 50 stateful pods must not
// fail them over one API round trip at a time.
var phases = []struct {
	kinds    []ActionKind
	parallel bool
	perNode  bool
	// afterPods skips the actions of a resource one of whose earlier
	// actions failed in this round: an attachment must not go while a
	// pod may still use it.
	afterPods bool
}{
	{kinds: []ActionKind{TaintNode}},
	{kinds: []ActionKind{DeletePod, EvictPod}, parallel: true},
	{kinds: []ActionKind{ReleaseVolume}, perNode: true, afterPods: true},
	{kinds: []ActionKind{DeleteAttachment, RemoveAttacherFinalizer}, parallel: true, afterPods: true},
	{kinds: []ActionKind{Demote, UntaintNode}, afterPods: true},
}

// parallelActions bounds the API calls in flight for one phase.
const parallelActions = 16

// run performs the pending actions of a decision phase by phase and returns
// the keys of those that are done and of those that were tried; lost tells
// since when each lost peer was lost, and held the resources whose later
// phases must wait as if an action had failed.
func (c *Controller) run(ctx context.Context, pending []Action, lost map[Key]time.Time, held map[string]bool) (done, tried map[string]bool) {
	done, tried = map[string]bool{}, map[string]bool{}
	failed := maps.Clone(held) // resources with a failed or held action
	for _, phase := range phases {
		var batch []Action
		for _, a := range pending {
			if slices.Contains(phase.kinds, a.Kind) && !(phase.afterPods && failed[a.Resource]) {
				batch = append(batch, a)
			}
		}
		var outcomes map[int]bool
		if phase.perNode {
			outcomes = c.runPerNode(ctx, batch, lost)
		} else {
			outcomes = c.runBatch(ctx, batch, phase.parallel, lost)
		}
		for i, ok := range outcomes {
			tried[actionKey(batch[i])] = true
			if ok {
				done[actionKey(batch[i])] = true
			} else {
				failed[batch[i].Resource] = true
			}
		}
	}
	return done, tried
}

// runBatch performs a phase's actions, at most parallelActions at a time
// when parallel, and returns each one's outcome by its index.
func (c *Controller) runBatch(ctx context.Context, batch []Action, parallel bool, lost map[Key]time.Time) map[int]bool {
	workers := 1
	if parallel {
		workers = parallelActions
	}
	outcomes := make(map[int]bool, len(batch))
	var mu sync.Mutex
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, a := range batch {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			var err error
			if !c.opts.DryRun {
				err = c.executor.Do(ctx, a)
			}
			ok := c.recorder.outcome(ctx, a, err, lost)
			mu.Lock()
			defer mu.Unlock()
			outcomes[i] = ok
		}()
	}
	wg.Wait()
	c.recorder.sumUp(batch, outcomes)
	return outcomes
}

// runPerNode releases the volumes of each node's ReleaseVolume actions in
// one call, and returns each action's outcome by its index.
func (c *Controller) runPerNode(ctx context.Context, batch []Action, lost map[Key]time.Time) map[int]bool {
	byNode := map[string][]int{}
	var nodes []string
	for i, a := range batch {
		if _, ok := byNode[a.Node]; !ok {
			nodes = append(nodes, a.Node)
		}
		byNode[a.Node] = append(byNode[a.Node], i)
	}
	outcomes := make(map[int]bool, len(batch))
	for _, node := range nodes {
		var err error
		if !c.opts.DryRun {
			handles := make([]string, len(byNode[node]))
			for j, i := range byNode[node] {
				handles[j] = batch[i].Resource
			}
			err = c.executor.ReleaseVolumes(ctx, node, handles)
		}
		for _, i := range byNode[node] {
			outcomes[i] = c.recorder.outcome(ctx, batch[i], err, lost)
		}
	}
	return outcomes
}

// actionKey identifies an action for the current need; a graceful deletion
// that turns into a forced one is a new action.
func actionKey(a Action) string {
	return fmt.Sprintf("%s/%s/%s/%s/%s/%v/%s", a.Kind, a.Resource, a.Node, podUID(a.Pod), a.Attachment, a.GraceZero, a.Taint)
}
