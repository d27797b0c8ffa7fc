package replicas

import (
	"context"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/reportclient"
)

// Index holds the replicas of every resource, by resource name. Updates
// replace slices instead of changing them, so readers may keep what
// Replicas returns without locking or copying.
type Index struct {
	mu         sync.RWMutex
	byResource map[string][]Replica
	// byNode remembers which resources each report listed, so that a new
	// report can drop the node's replicas that are gone.
	byNode map[string][]string
	// heartbeats holds the last heartbeat of each synced report.
	heartbeats map[string]time.Time
	// versions holds the resourceVersion of each node's report, so that a
	// report seen twice (from two watches) is applied once, and an older
	// one never replaces a newer.
	versions map[string]string
	synced   cache.InformerSynced
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{byResource: map[string][]Replica{}, byNode: map[string][]string{}, heartbeats: map[string]time.Time{}, versions: map[string]string{}}
}

// Replicas returns the replicas of a resource. The slice must not be
// changed.
func (ix *Index) Replicas(resource string) []Replica {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.byResource[resource]
}

// Version returns the resourceVersion of the node's report in the index,
// "" when it has none.
func (ix *Index) Version(node string) string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.versions[node]
}

// Set replaces everything the index knows about the report's node.
func (ix *Index) Set(rr *v1alpha1.ReplicaReport) {
	node := rr.Name
	zone := rr.Status.Zone
	heartbeat := rr.Status.HeartbeatTime.Time
	names := make([]string, 0, len(rr.Status.Resources))
	fresh := make(map[string]Replica, len(rr.Status.Resources))
	for i := range rr.Status.Resources {
		res := &rr.Status.Resources[i]
		health, reason := Classify(res)
		if !rr.Status.Synced {
			// A report written before the sidecar's first full DRBD dump
			// proves nothing.
			health, reason = Unknown, ""
		}
		if _, dup := fresh[res.Name]; !dup {
			names = append(names, res.Name)
		}
		fresh[res.Name] = Replica{Node: node, Zone: zone, Health: health, Reason: reason, Heartbeat: heartbeat}
	}

	ix.mu.Lock()
	defer ix.mu.Unlock()
	if !newer(rr.ResourceVersion, ix.versions[node]) {
		return
	}
	ix.versions[node] = rr.ResourceVersion
	for _, name := range ix.byNode[node] {
		if _, still := fresh[name]; !still {
			ix.replaceLocked(name, node, nil)
		}
	}
	for _, name := range names {
		r := fresh[name]
		ix.replaceLocked(name, node, &r)
	}
	ix.byNode[node] = names
	if rr.Status.Synced {
		ix.heartbeats[node] = heartbeat
	} else {
		delete(ix.heartbeats, node)
	}
}

// newer reports whether resourceVersion cur is newer than prev. Versions
// are opaque to clients; the API server's are decimal counters, and when
// either is not, cur wins unless they are equal.
func newer(cur, prev string) bool {
	if prev == "" || cur == "" {
		return true
	}
	c, errC := strconv.ParseUint(cur, 10, 64)
	p, errP := strconv.ParseUint(prev, 10, 64)
	if errC != nil || errP != nil {
		return cur != prev
	}
	return c > p
}

// Heartbeat returns when a node's report was last confirmed, zero when the
// index has no synced report of the node: a report written before the
// sidecar's first full DRBD dump proves nothing about the node.
func (ix *Index) Heartbeat(node string) time.Time {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.heartbeats[node]
}

// Delete forgets a node's report.
func (ix *Index) Delete(node string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, name := range ix.byNode[node] {
		ix.replaceLocked(name, node, nil)
	}
	delete(ix.byNode, node)
	delete(ix.heartbeats, node)
	delete(ix.versions, node)
}

// replaceLocked swaps in a new slice for resource without node's replica,
// plus r when given.
func (ix *Index) replaceLocked(resource, node string, r *Replica) {
	old := ix.byResource[resource]
	next := make([]Replica, 0, len(old)+1)
	for _, o := range old {
		if o.Node != node {
			next = append(next, o)
		}
	}
	if r != nil {
		next = append(next, *r)
	}
	if len(next) == 0 {
		delete(ix.byResource, resource)
		return
	}
	ix.byResource[resource] = next
}

// HasSynced reports whether the index has seen every report once. An index
// that was never started never syncs.
func (ix *Index) HasSynced() bool {
	ix.mu.RLock()
	synced := ix.synced
	ix.mu.RUnlock()
	return synced != nil && synced()
}

// Start fills the index from an informer over lw until ctx ends.
func (ix *Index) Start(ctx context.Context, lw cache.ListerWatcher) error {
	informer := cache.NewSharedIndexInformerWithOptions(lw, &v1alpha1.ReplicaReport{}, cache.SharedIndexInformerOptions{})
	if err := informer.SetTransform(dropManagedFields); err != nil {
		return err
	}
	_, err := informer.AddEventHandler(reportclient.EventHandler(ix.Set, ix.Delete))
	if err != nil {
		return err
	}
	ix.mu.Lock()
	ix.synced = informer.HasSynced
	ix.mu.Unlock()
	go informer.RunWithContext(ctx)
	return nil
}

func dropManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// ZonesWithData returns the zones in which the resource has a fresh
// UpToDate replica.
func ZonesWithData(rs []Replica, now time.Time, staleAfter time.Duration) []string {
	var zones []string
	for i := range rs {
		r := &rs[i]
		if r.Health != UpToDate || r.Zone == "" || !r.Fresh(now, staleAfter) {
			continue
		}
		seen := false
		for _, z := range zones {
			seen = seen || z == r.Zone
		}
		if !seen {
			zones = append(zones, r.Zone)
		}
	}
	return zones
}
