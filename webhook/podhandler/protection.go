package podhandler

import (
	"context"
	"slices"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/protection"
	"github.com/linstor-ha/linstor-ha/pkg/replicas"
	"github.com/linstor-ha/linstor-ha/pkg/reportclient"
)

// ProtectionIndex holds, per DRBD resource, what the protection analysis
// needs of each node's replica: its zone, whether it is diskful, whether
// its data is UpToDate, and when its report was confirmed. It sees every
// report, so it judges a resource from all its replicas' own reports
// rather than from any one node's view.
type ProtectionIndex struct {
	mu         sync.RWMutex
	byResource map[string][]indexed
	// byNode remembers which resources each report listed, so that a new
	// report can drop the node's replicas that are gone.
	byNode map[string][]string
	// zoneOf is the zone each report gives; the cluster's zones are what
	// a zone loss can be told about. zones counts the distinct ones.
	zoneOf map[string]string
	zones  int
}

type indexed struct {
	replica   protection.Replica
	heartbeat time.Time
	// peers are the replicas the node's DRBD names, by connection name.
	peers []string
}

// NewProtectionIndex returns an empty index.
func NewProtectionIndex() *ProtectionIndex {
	return &ProtectionIndex{byResource: map[string][]indexed{}, byNode: map[string][]string{}, zoneOf: map[string]string{}}
}

// Replicas returns the replicas of resource, nil when the reports do not
// tell them all: a peer that some node's DRBD names has no report that
// lists the resource (yet). A replica whose report is older than
// staleAfter at now still votes, but its data counts as not UpToDate: its
// node may be down.
func (ix *ProtectionIndex) Replicas(resource string, now time.Time, staleAfter time.Duration) []protection.Replica {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	entries := ix.byResource[resource]
	if len(entries) == 0 {
		return nil
	}
	for _, e := range entries {
		for _, p := range e.peers {
			if !slices.ContainsFunc(entries, func(o indexed) bool { return o.replica.Node == p }) {
				return nil
			}
		}
	}
	out := make([]protection.Replica, len(entries))
	for i, e := range entries {
		out[i] = e.replica
		out[i].UpToDate = out[i].UpToDate && replicas.Fresh(e.heartbeat, now, staleAfter)
	}
	return out
}

// Zones returns how many distinct zones the reports give.
func (ix *ProtectionIndex) Zones() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.zones
}

// countZonesLocked counts the distinct zones again; reports come and go
// far less often than pods are admitted.
func (ix *ProtectionIndex) countZonesLocked() {
	seen := map[string]bool{}
	for _, z := range ix.zoneOf {
		if z != "" {
			seen[z] = true
		}
	}
	ix.zones = len(seen)
}

// Set replaces everything the index knows of the report's node.
func (ix *ProtectionIndex) Set(rr *v1alpha1.ReplicaReport) {
	node := rr.Name
	if node == "" {
		node = rr.Status.NodeName
	}
	fresh := map[string]indexed{}
	var names []string
	for i := range rr.Status.Resources {
		res := &rr.Status.Resources[i]
		if _, dup := fresh[res.Name]; dup {
			continue
		}
		names = append(names, res.Name)
		fresh[res.Name] = indexed{
			replica: protection.Replica{Node: node, Zone: rr.Status.Zone, Diskful: !res.Client,
				// An unsynced report places the replica but proves nothing
				// of its data, as protection.FromReports has it.
				UpToDate: !res.Client && res.Disk == diskUpToDate && rr.Status.Synced},
			heartbeat: rr.Status.HeartbeatTime.Time,
			peers:     peerNames(res),
		}
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, name := range ix.byNode[node] {
		if _, still := fresh[name]; !still {
			ix.replaceLocked(name, node, nil)
		}
	}
	for _, name := range names {
		e := fresh[name]
		ix.replaceLocked(name, node, &e)
	}
	ix.byNode[node] = names
	if old, ok := ix.zoneOf[node]; !ok || old != rr.Status.Zone {
		ix.zoneOf[node] = rr.Status.Zone
		ix.countZonesLocked()
	}
}

// Delete forgets a node's report.
func (ix *ProtectionIndex) Delete(node string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, name := range ix.byNode[node] {
		ix.replaceLocked(name, node, nil)
	}
	delete(ix.byNode, node)
	delete(ix.zoneOf, node)
	ix.countZonesLocked()
}

// replaceLocked swaps in a new slice for resource without node's replica,
// plus e when given; readers may keep the old one.
func (ix *ProtectionIndex) replaceLocked(resource, node string, e *indexed) {
	old := ix.byResource[resource]
	next := make([]indexed, 0, len(old)+1)
	for _, o := range old {
		if o.replica.Node != node {
			next = append(next, o)
		}
	}
	if e != nil {
		next = append(next, *e)
	}
	if len(next) == 0 {
		delete(ix.byResource, resource)
		return
	}
	ix.byResource[resource] = next
}

// Start fills the index from an informer over lw until ctx ends. The
// informer's store keeps only what the index reads of each report.
func (ix *ProtectionIndex) Start(ctx context.Context, lw cache.ListerWatcher) error {
	informer := cache.NewSharedIndexInformerWithOptions(lw, &v1alpha1.ReplicaReport{}, cache.SharedIndexInformerOptions{})
	if err := informer.SetTransform(slimReport); err != nil {
		return err
	}
	_, err := informer.AddEventHandler(reportclient.EventHandler(ix.Set, ix.Delete))
	if err != nil {
		return err
	}
	go informer.RunWithContext(ctx)
	return nil
}

// slimReport drops what the index does not read: managed fields, suspend
// reasons, all of a peer but its name.
func slimReport(obj any) (any, error) {
	rr, ok := obj.(*v1alpha1.ReplicaReport)
	if !ok {
		if m, ok := obj.(metav1.Object); ok {
			m.SetManagedFields(nil)
		}
		return obj, nil
	}
	slim := &v1alpha1.ReplicaReport{
		TypeMeta:   rr.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: rr.Name, ResourceVersion: rr.ResourceVersion, UID: rr.UID},
		Status: v1alpha1.ReplicaReportStatus{
			NodeName: rr.Status.NodeName, Zone: rr.Status.Zone, HeartbeatTime: rr.Status.HeartbeatTime, Synced: rr.Status.Synced,
			Resources: make([]v1alpha1.ResourceReport, len(rr.Status.Resources)),
		},
	}
	for i, res := range rr.Status.Resources {
		slim.Status.Resources[i] = v1alpha1.ResourceReport{Name: res.Name, Disk: res.Disk, Client: res.Client}
		for _, p := range res.Peers {
			slim.Status.Resources[i].Peers = append(slim.Status.Resources[i].Peers, v1alpha1.PeerReport{Name: p.Name})
		}
	}
	return slim, nil
}

func peerNames(res *v1alpha1.ResourceReport) []string {
	if len(res.Peers) == 0 {
		return nil
	}
	out := make([]string, len(res.Peers))
	for i, p := range res.Peers {
		out[i] = p.Name
	}
	return out
}

// diskUpToDate is DRBD's disk state of replicas with current data.
const diskUpToDate = "UpToDate"
