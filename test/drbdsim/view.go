package drbdsim

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// renderView returns what r's DRBD would report, with may_promote and
// promotion_score computed by the rules drbdsetup applies.
func (c *Cluster) renderView(r *replica) *state.Resource {
	v := r.view
	res := r.res
	out := &state.Resource{
		Name:      res.spec.Name,
		Role:      v.role,
		Suspended: state.SuspendedNo,
		// force-io-failures is DRBD's fail_io flag, which only a forced
		// demotion sets; on-no-quorum io-error fails I/O without it.
		ForceIOFailures: v.forcedIOFail,
	}
	if v.suspendedQuorum {
		out.Suspended = state.SuspendedQuorum
	}
	for vol := range int32(res.spec.Volumes) {
		out.Devices = append(out.Devices, state.Device{
			Volume: vol,
			Minor:  int32(res.minor) + vol,
			Disk:   r.diskState(),
			Client: !r.kind.diskful(),
			Quorum: v.quorum,
			Open:   v.open,
		})
	}
	for _, p := range res.replicas {
		if p == r {
			continue
		}
		pv := v.peers[p]
		conn := state.Connection{PeerNodeID: p.id, Name: p.node.name, State: pv.state, PeerRole: pv.role}
		for vol := range int32(res.spec.Volumes) {
			conn.PeerDevices = append(conn.PeerDevices, state.PeerDevice{
				Volume:          vol,
				Replication:     pv.repl,
				PeerDisk:        pv.disk,
				PeerClient:      !p.kind.diskful(),
				ResyncSuspended: "no",
			})
		}
		out.Connections = append(out.Connections, conn)
	}
	out.MayPromote = state.FlagNo
	if state.ComputeMayPromote(out) {
		out.MayPromote = state.FlagYes
	}
	out.PromotionScore = state.ComputePromotionScore(out)
	return out
}

// View returns what a node's DRBD reports for a resource, and false when the
// node is down or does not have the resource up.
func (c *Cluster) View(nodeName, resName string) (*state.Resource, bool) {
	var view *state.Resource
	_ = c.read(func() {
		if r, err := c.liveReplica(nodeName, resName); err == nil {
			view = c.renderView(r)
		}
	})
	return view, view != nil
}

// ClusterState is a snapshot of the truth and of every view.
type ClusterState struct {
	Nodes []NodeState `json:"nodes"`
	// Cuts are the pairs of nodes whose replication link is cut.
	Cuts      [][2]string     `json:"cuts,omitempty"`
	Resources []ResourceState `json:"resources"`
}

// NodeState says whether a node runs.
type NodeState struct {
	Name string `json:"name"`
	Up   bool   `json:"up"`
}

// ResourceState is the truth about a resource and each node's view of it.
type ResourceState struct {
	Spec ResourceSpec `json:"spec"`
	// Writers are the nodes that can write right now (see Writers).
	Writers  []string       `json:"writers"`
	Replicas []ReplicaState `json:"replicas"`
}

// ReplicaState is the truth about one replica and its node's view.
type ReplicaState struct {
	Node   string      `json:"node"`
	NodeID int32       `json:"nodeID"`
	Kind   ReplicaKind `json:"kind"`
	// Down is true while the resource is down on the node (DownReplica).
	Down bool `json:"down"`
	// Stale is true when the replica's data missed writes.
	Stale bool `json:"stale"`
	// ClosePending is true while a CloseDevice waits for the device's
	// frozen I/O (see Cluster.CloseDevice); the view still says open.
	ClosePending bool `json:"closePending,omitempty"`
	// View is nil while the node is down or the resource is down there.
	View *state.Resource `json:"view,omitempty"`
}

// State returns a snapshot of the whole cluster.
func (c *Cluster) State() (ClusterState, error) {
	var st ClusterState
	err := c.read(func() {
		for _, n := range c.nodeList {
			st.Nodes = append(st.Nodes, NodeState{Name: n.name, Up: n.up})
		}
		for p := range c.cut {
			st.Cuts = append(st.Cuts, [2]string{p.a, p.b})
		}
		slices.SortFunc(st.Cuts, func(x, y [2]string) int {
			if d := cmp.Compare(x[0], y[0]); d != 0 {
				return d
			}
			return cmp.Compare(x[1], y[1])
		})
		for _, res := range c.sortedResources() {
			rs := ResourceState{Spec: res.spec, Writers: []string{}}
			for _, r := range res.replicas {
				rstate := ReplicaState{Node: r.node.name, NodeID: r.id, Kind: r.kind, Down: r.down, Stale: r.stale()}
				if r.live() {
					rstate.View = c.renderView(r)
					rstate.ClosePending = r.view.closePending
					if r.canWrite() {
						rs.Writers = append(rs.Writers, r.node.name)
					}
				}
				rs.Replicas = append(rs.Replicas, rstate)
			}
			st.Resources = append(st.Resources, rs)
		}
	})
	return st, err
}

// Replica returns the truth about one replica and its node's view.
func (c *Cluster) Replica(nodeName, resName string) (ReplicaState, error) {
	var out ReplicaState
	err := c.do(func() error {
		n, err := c.node(nodeName)
		if err != nil {
			return err
		}
		res, ok := c.resources[resName]
		if !ok {
			return fmt.Errorf("%w %q", ErrUnknownResource, resName)
		}
		r := res.replicaOn(n)
		if r == nil {
			return fmt.Errorf("%w %q on node %q", ErrUnknownResource, resName, nodeName)
		}
		out = ReplicaState{Node: n.name, NodeID: r.id, Kind: r.kind, Down: r.down, Stale: r.stale()}
		if r.live() {
			out.View = c.renderView(r)
			out.ClosePending = r.view.closePending
		}
		return nil
	})
	return out, err
}
