package state

// ComputeMayPromote applies the rule drbdsetup uses for may_promote to the
// state: the resource has a device, does not fail I/O, has quorum on every
// device, every device has an UpToDate replica (local or on a connected
// peer), and no one, neither this node nor a connected peer, is Primary.
func ComputeMayPromote(r *Resource) bool {
	if len(r.Devices) == 0 || r.ForceIOFailures || r.Role == RolePrimary {
		return false
	}
	for i := range r.Connections {
		if r.Connections[i].PeerRole == RolePrimary {
			return false
		}
	}
	for i := range r.Devices {
		d := &r.Devices[i]
		if !d.Quorum || !r.hasUpToDateReplica(d) {
			return false
		}
	}
	return true
}

func (r *Resource) hasUpToDateReplica(d *Device) bool {
	if d.Disk == DiskUpToDate {
		return true
	}
	return r.upToDatePeers(d.Volume) > 0
}

// upToDatePeers counts the connected peers with UpToDate data of a volume.
func (r *Resource) upToDatePeers(volume int32) int {
	n := 0
	for i := range r.Connections {
		c := &r.Connections[i]
		if !c.Connected() {
			continue
		}
		for j := range c.PeerDevices {
			if c.PeerDevices[j].Volume == volume && c.PeerDevices[j].PeerDisk == DiskUpToDate {
				n++
			}
		}
	}
	return n
}

// ComputePromotionScore applies drbdsetup's promotion_score rule: 10000 when
// every local device has a disk, plus 100 for each local UpToDate device (at
// most 99), plus the smallest number of UpToDate replicas of any device (at
// most 99). As drbdsetup does, it is 0 when a device lacks quorum or has no
// UpToDate replica at all: such a node cannot be promoted however good its
// disk.
func ComputePromotionScore(r *Resource) int64 {
	if len(r.Devices) == 0 {
		return 0
	}
	var score int64
	allDisks := true
	localUpToDate := 0
	minReplicas := -1
	for i := range r.Devices {
		d := &r.Devices[i]
		if !d.Quorum {
			return 0
		}
		switch d.Disk {
		case DiskUpToDate, DiskConsistent, DiskInconsistent:
		default:
			allDisks = false
		}
		replicas := r.upToDatePeers(d.Volume)
		if d.Disk == DiskUpToDate {
			localUpToDate++
			replicas++
		}
		if minReplicas < 0 || replicas < minReplicas {
			minReplicas = replicas
		}
	}
	if minReplicas == 0 {
		return 0
	}
	if allDisks {
		score += 10000
	}
	score += 100 * int64(min(localUpToDate, 99))
	score += int64(min(minReplicas, 99))
	return score
}
