package drbdsim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdjson"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// Status returns what `drbdsetup status --json [RESOURCE]` prints on a
// node: every resource the node runs when resName is "" or "all".
func (c *Cluster) Status(nodeName, resName string) ([]drbdjson.Resource, error) {
	out := []drbdjson.Resource{}
	err := c.do(func() error {
		replicas, err := c.nodeReplicas(nodeName, resName)
		if err != nil {
			return err
		}
		for _, r := range replicas {
			out = append(out, c.statusOf(r))
		}
		return nil
	})
	return out, err
}

// Show returns what `drbdsetup show --json [RESOURCE]` prints on a node.
func (c *Cluster) Show(nodeName, resName string) ([]drbdjson.ShowResource, error) {
	out := []drbdjson.ShowResource{}
	err := c.do(func() error {
		replicas, err := c.nodeReplicas(nodeName, resName)
		if err != nil {
			return err
		}
		for _, r := range replicas {
			out = append(out, c.showOf(r))
		}
		return nil
	})
	return out, err
}

// nodeReplicas returns the replicas a running node has up, in resource name
// order: one, or all of them for "" and "all".
func (c *Cluster) nodeReplicas(nodeName, resName string) ([]*replica, error) {
	if resName != "" && resName != "all" {
		r, err := c.liveReplica(nodeName, resName)
		if err != nil {
			return nil, err
		}
		return []*replica{r}, nil
	}
	n, err := c.upNode(nodeName)
	if err != nil {
		return nil, err
	}
	var out []*replica
	for _, res := range c.sortedResources() {
		if r := res.replicaOn(n); r != nil && r.live() {
			out = append(out, r)
		}
	}
	return out, nil
}

func (c *Cluster) statusOf(r *replica) drbdjson.Resource {
	view := c.renderView(r)
	res := r.res
	out := drbdjson.Resource{
		Name:            view.Name,
		NodeID:          r.id,
		Role:            view.Role,
		Suspended:       view.IOSuspended(),
		SuspendedQuorum: r.view.suspendedQuorum,
		ForceIOFailures: view.ForceIOFailures,
		WriteOrdering:   writeOrdering(r),
		Devices:         []drbdjson.Device{},
		Connections:     []drbdjson.Connection{},
	}
	for _, d := range view.Devices {
		out.Devices = append(out.Devices, drbdjson.Device{
			Volume: d.Volume, Minor: uint32(d.Minor), DiskState: d.Disk, Client: d.Client,
			Open: d.Open, Quorum: d.Quorum, Size: res.spec.SizeKiB,
		})
	}
	for _, conn := range view.Connections {
		peer := res.byID(conn.PeerNodeID)
		jc := drbdjson.Connection{
			PeerNodeID: conn.PeerNodeID, Name: conn.Name, ConnectionState: conn.State, PeerRole: conn.PeerRole,
			Paths: []drbdjson.Path{{
				ThisHost:    drbdjson.Host{Address: nodeAddress(r.node), Port: res.port, Family: "ipv4"},
				RemoteHost:  drbdjson.Host{Address: nodeAddress(peer.node), Port: res.port, Family: "ipv4"},
				Established: conn.State == state.ConnConnected,
			}},
			PeerDevices: []drbdjson.PeerDevice{},
		}
		progress, syncing := c.syncProgress(r, peer)
		for _, pd := range conn.PeerDevices {
			jpd := drbdjson.PeerDevice{
				Volume: pd.Volume, ReplicationState: pd.Replication, PeerDiskState: pd.PeerDisk,
				PeerClient: pd.PeerClient, ResyncSuspended: pd.ResyncSuspended, PercentInSync: 100,
			}
			if syncing {
				jpd.OutOfSync = uint64(float64(res.spec.SizeKiB) * (1 - progress))
				jpd.PercentInSync = drbdjson.Percent(100 * progress)
				done := jpd.PercentInSync
				jpd.PercentResyncDone = &done
			}
			jc.PeerDevices = append(jc.PeerDevices, jpd)
		}
		out.Connections = append(out.Connections, jc)
	}
	return out
}

// syncProgress reports how far a resync between r and peer (either way)
// has come, from 0 to 1, and whether one runs.
func (c *Cluster) syncProgress(r, peer *replica) (float64, bool) {
	target := r
	if r.view.syncSource != peer {
		target = peer
		if !peer.live() || peer.view.syncSource != r {
			return 0, false
		}
	}
	if c.delays.Resync <= 0 {
		return 1, true
	}
	elapsed := c.now.Sub(target.view.syncStart)
	return min(max(float64(elapsed)/float64(c.delays.Resync), 0), 1), true
}

func (c *Cluster) showOf(r *replica) drbdjson.ShowResource {
	res := r.res
	autoPromote := true
	out := drbdjson.ShowResource{
		Resource: res.spec.Name,
		Options: drbdjson.ShowOptions{
			Quorum: res.spec.Quorum, OnNoQuorum: res.spec.OnNoQuorum,
			OnSuspendedPrimaryOutdated: res.spec.OnSuspendedPrimaryOutdated, AutoPromote: &autoPromote,
		},
		ThisHost: drbdjson.ShowHost{NodeID: r.id, Volumes: []drbdjson.ShowVolume{}},
	}
	for vol := range int32(res.spec.Volumes) {
		v := drbdjson.ShowVolume{VolumeNr: vol, DeviceMinor: res.minor + uint32(vol)}
		if r.kind.diskful() {
			v.BackingDisk = backingDisk(r, vol)
			v.MetaDisk = "internal"
		} else {
			v.Disk = json.RawMessage(`"none"`)
		}
		out.ThisHost.Volumes = append(out.ThisHost.Volumes, v)
	}
	for _, peer := range res.replicas {
		if peer == r {
			continue
		}
		cstate := r.view.peers[peer].state
		conn := drbdjson.ShowConnection{
			PeerNodeID:   peer.id,
			CState:       cstate,
			IsStandalone: cstate == state.ConnStandAlone,
			Net: drbdjson.ShowNet{
				Name:        peer.node.name,
				Protocol:    "C",
				Timeout:     tenths(c.delays.Timeout),
				PingInt:     seconds(c.delays.PingInt),
				PingTimeout: tenths(c.delays.PingTimeout),
				ConnectInt:  seconds(c.delays.Reconnect),
			},
			Paths: []drbdjson.ShowPath{{
				ThisHost:   drbdjson.Host{Address: nodeAddress(r.node), Port: res.port, Family: "ipv4"},
				RemoteHost: drbdjson.Host{Address: nodeAddress(peer.node), Port: res.port, Family: "ipv4"},
			}},
		}
		for vol := range int32(res.spec.Volumes) {
			conn.Volumes = append(conn.Volumes, drbdjson.ShowPeerVolume{VolumeNr: vol})
		}
		out.Connections = append(out.Connections, conn)
	}
	return out
}

// seconds and tenths format durations in the units drbdsetup show uses.
func seconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

func tenths(d time.Duration) string { return strconv.FormatInt(int64(d/(100*time.Millisecond)), 10) }

// DeviceMinor returns the minor number of a volume of a resource.
func (c *Cluster) DeviceMinor(resName string, volume int) (uint32, error) {
	var minor uint32
	err := c.do(func() error {
		res, ok := c.resources[resName]
		if !ok {
			return fmt.Errorf("%w %q", ErrUnknownResource, resName)
		}
		if volume < 0 || volume >= res.spec.Volumes {
			return fmt.Errorf("%w: resource %q has no volume %d", ErrInvalid, resName, volume)
		}
		minor = res.minor + uint32(volume)
		return nil
	})
	return minor, err
}
