package status

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/podvolumes"
	"github.com/linstor-ha/linstor-ha/pkg/protection"
	"github.com/linstor-ha/linstor-ha/pkg/replicas"
)

// Inputs is what Build needs from the cluster.
type Inputs struct {
	Reports []v1alpha1.ReplicaReport
	// Volumes are the PersistentVolumes; those of the DRBD driver name
	// the claims of the resources.
	Volumes []corev1.PersistentVolume
	// Pods are the pods that may use the volumes.
	Pods []corev1.Pod
}

// Options select and judge what Build shows.
type Options struct {
	// Now and StaleAfter decide whether a report still speaks for its
	// node: one whose heartbeat is older proves nothing about its data.
	Now        time.Time
	StaleAfter time.Duration
	// Namespace, when set, keeps only volumes whose claim is in it.
	Namespace string
	// Names, when set, keeps only the volumes named by their DRBD
	// resource, PersistentVolume, claim name or namespace/claim.
	Names []string
}

// Report states of a replica's node report.
const (
	ReportFresh     = "fresh"
	ReportStale     = "stale"
	ReportNotSynced = "not-synced"
	// ReportMissing: a peer's DRBD names the replica, but its node's
	// report does not list the resource (yet).
	ReportMissing = "missing"
)

// Replica kinds.
const (
	KindDiskful    = "diskful"
	KindTiebreaker = "tiebreaker"
)

// Volume is the status of one DRBD resource.
type Volume struct {
	// Resource is the DRBD resource, the PersistentVolume's volume handle.
	Resource         string `json:"resource"`
	PersistentVolume string `json:"persistentVolume,omitempty"`
	// Claim is namespace/name of the claim bound to it.
	Claim    string    `json:"claim,omitempty"`
	Replicas []Replica `json:"replicas"`
	Pods     []Pod     `json:"pods,omitempty"`
	// Protection is ZoneSafe, NodeSafe, Unprotected or Unknown.
	Protection string `json:"protection"`
	// Survives lists the single failures after which its pods can fail
	// over: "node a1", "zone room-b".
	Survives []string `json:"survives,omitempty"`
	// NotSurvived lists those after which they cannot, or might not.
	NotSurvived []Failure `json:"notSurvived,omitempty"`
	// ToSurviveRoomLoss lists what to change so that it survives the loss
	// of any one zone (room), cheapest first; each entry is one option.
	ToSurviveRoomLoss []string `json:"toSurviveRoomLoss,omitempty"`
	// NodesWithoutZone are replicas' nodes whose zone is unknown.
	NodesWithoutZone []string `json:"nodesWithoutZone,omitempty"`
	// Problems say why it cannot be judged, when it cannot.
	Problems []string `json:"problems,omitempty"`
}

// Replica is one node's replica of a volume, as its own report shows it.
type Replica struct {
	Node string `json:"node"`
	Zone string `json:"zone,omitempty"`
	// Kind is diskful or tiebreaker (any intentionally diskless replica).
	Kind   string `json:"kind"`
	Role   string `json:"role,omitempty"`
	Disk   string `json:"disk,omitempty"`
	Quorum bool   `json:"quorum"`
	// Report is fresh, stale (the node's sidecar stopped confirming it),
	// not-synced, or missing (only a peer's DRBD names the replica).
	Report string `json:"report"`
}

// Pod is a pod that uses a volume.
type Pod struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Node      string `json:"node,omitempty"`
	Phase     string `json:"phase,omitempty"`
	// Terminating is true once the pod is being deleted.
	Terminating bool `json:"terminating,omitempty"`
}

// Failure is one single failure a volume does not survive, or might not.
type Failure struct {
	// Failure is "node <name>" or "zone <name>".
	Failure string `json:"failure"`
	Reason  string `json:"reason"`
	// Message says why, and what to change.
	Message string `json:"message"`
}

// Build returns the status of every volume the reports list, the least
// protected first.
func Build(in Inputs, o Options) []Volume {
	claims := claimsByResource(in.Volumes)
	users := podsByClaim(in.Pods)
	byResource := map[string][]Replica{}
	// peers holds, per resource, the replicas the reports' DRBD names as
	// peers, with whether they are diskless.
	peers := map[string]map[string]bool{}
	// Judged reports: a stale one still places its replica, but proves
	// nothing about its data.
	judged := make([]v1alpha1.ReplicaReport, len(in.Reports))
	for i := range in.Reports {
		rr := in.Reports[i]
		state := ReportFresh
		switch {
		case !rr.Status.Synced:
			state = ReportNotSynced
		case !replicas.Fresh(rr.Status.HeartbeatTime.Time, o.Now, o.StaleAfter):
			state = ReportStale
			rr.Status.Synced = false
		}
		judged[i] = rr
		node := rr.Name
		if node == "" {
			node = rr.Status.NodeName
		}
		for _, res := range rr.Status.Resources {
			kind := KindDiskful
			if res.Client {
				kind = KindTiebreaker
			}
			byResource[res.Name] = append(byResource[res.Name], Replica{
				Node: node, Zone: rr.Status.Zone, Kind: kind, Role: res.Role, Disk: res.Disk, Quorum: res.Quorum, Report: state,
			})
			if peers[res.Name] == nil {
				peers[res.Name] = map[string]bool{}
			}
			for _, p := range res.Peers {
				peers[res.Name][p.Name] = peers[res.Name][p.Name] || p.Client
			}
		}
	}

	var out []Volume
	for resource, reps := range byResource {
		c := claims[resource]
		if !selected(resource, c, o) {
			continue
		}
		v := Volume{Resource: resource, PersistentVolume: c.pv, Replicas: reps}
		if c.name != "" {
			v.Claim = c.namespace + "/" + c.name
			v.Pods = users[v.Claim]
		}
		missing := addMissing(&v, peers[resource])
		slices.SortFunc(v.Replicas, func(a, b Replica) int { return strings.Compare(a.Node, b.Node) })
		if len(missing) > 0 {
			// Judged without a replica, the volume would look worse or
			// better than it is.
			v.Protection = string(protection.Unknown)
			v.Problems = append(v.Problems, fmt.Sprintf("DRBD names replicas on %s, but no report of theirs lists the volume: a report may be late, or the node's sidecar is not running (check `kubectl get replicareports %s`)",
				strings.Join(missing, ", "), strings.Join(missing, " ")))
		} else {
			judge(&v, protection.FromReports(resource, judged))
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b Volume) int {
		return cmp.Or(cmp.Compare(severity(a.Protection), severity(b.Protection)), strings.Compare(a.Resource, b.Resource))
	})
	return out
}

// addMissing adds the replicas that only peers name, and returns their
// nodes, sorted.
func addMissing(v *Volume, peers map[string]bool) []string {
	var missing []string
	for node, client := range peers {
		if slices.ContainsFunc(v.Replicas, func(r Replica) bool { return r.Node == node }) {
			continue
		}
		kind := KindDiskful
		if client {
			kind = KindTiebreaker
		}
		v.Replicas = append(v.Replicas, Replica{Node: node, Kind: kind, Report: ReportMissing})
		missing = append(missing, node)
	}
	slices.Sort(missing)
	return missing
}

// judge adds what the volume survives and what to change.
func judge(v *Volume, rs []protection.Replica) {
	r := protection.Compute(rs)
	v.Protection = string(r.Summary)
	v.NodesWithoutZone = r.NodesWithoutZone
	for _, f := range r.Survives {
		v.Survives = append(v.Survives, f.String())
	}
	for _, o := range slices.Concat(r.Fails, r.Undecided) {
		v.NotSurvived = append(v.NotSurvived, Failure{Failure: o.Failure.String(), Reason: string(o.Reason), Message: o.Message})
	}
	for _, p := range r.Problems {
		v.Problems = append(v.Problems, p.Message)
	}
	for _, f := range protection.ZoneFixes(rs) {
		v.ToSurviveRoomLoss = append(v.ToSurviveRoomLoss, f.Message)
	}
}

// severity orders summaries from the one that needs attention most.
func severity(summary string) int {
	switch protection.Summary(summary) {
	case protection.Unprotected:
		return 0
	case protection.NodeSafe:
		return 1
	case protection.Unknown:
		return 2
	default:
		return 3
	}
}

// claim is the claim bound to a resource's PersistentVolume.
type claim struct {
	pv, namespace, name string
}

func claimsByResource(pvs []corev1.PersistentVolume) map[string]claim {
	out := map[string]claim{}
	for i := range pvs {
		pv := &pvs[i]
		res, ok := podvolumes.Resource(pv)
		if !ok || res == "" {
			continue
		}
		c := claim{pv: pv.Name}
		if ref := pv.Spec.ClaimRef; ref != nil {
			c.namespace, c.name = ref.Namespace, ref.Name
		}
		out[res] = c
	}
	return out
}

// podsByClaim returns the pods by namespace/claim they use, directly or
// through a generic ephemeral volume (whose claim is <pod>-<volume>).
func podsByClaim(pods []corev1.Pod) map[string][]Pod {
	out := map[string][]Pod{}
	for i := range pods {
		p := &pods[i]
		for _, vol := range p.Spec.Volumes {
			name := ""
			switch {
			case vol.PersistentVolumeClaim != nil:
				name = vol.PersistentVolumeClaim.ClaimName
			case vol.Ephemeral != nil:
				name = p.Name + "-" + vol.Name
			default:
				continue
			}
			key := p.Namespace + "/" + name
			out[key] = append(out[key], Pod{Namespace: p.Namespace, Name: p.Name, Node: p.Spec.NodeName, Phase: string(p.Status.Phase), Terminating: p.DeletionTimestamp != nil})
		}
	}
	for _, ps := range out {
		slices.SortFunc(ps, func(a, b Pod) int { return strings.Compare(a.Name, b.Name) })
	}
	return out
}

// selected reports whether the options keep the volume.
func selected(resource string, c claim, o Options) bool {
	if o.Namespace != "" && c.namespace != o.Namespace {
		return false
	}
	if len(o.Names) == 0 {
		return true
	}
	for _, n := range o.Names {
		if n == resource || (c.pv != "" && n == c.pv) || (c.name != "" && (n == c.name || n == c.namespace+"/"+c.name)) {
			return true
		}
	}
	return false
}

// Unmatched returns the names that select none of vols.
func Unmatched(vols []Volume, names []string) []string {
	var out []string
	for _, n := range names {
		found := false
		for _, v := range vols {
			_, claimName, _ := strings.Cut(v.Claim, "/")
			found = found || n == v.Resource || n == v.PersistentVolume || (v.Claim != "" && (n == v.Claim || n == claimName))
		}
		if !found {
			out = append(out, n)
		}
	}
	return out
}
