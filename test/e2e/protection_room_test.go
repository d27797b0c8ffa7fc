package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/pkg/status"
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// roomPlacement is where a volume's tiebreaker sits, with diskful
// replicas on node-a1 (room-a, where its pod runs) and node-b1 (room-b),
// and what that placement gives when room-a is lost.
type roomPlacement struct {
	tiebreakers []string
	// protection is the volume's protection before the loss.
	protection string
	// fix is text the first way to survive a room loss must contain; ""
	// for a ZoneSafe volume.
	fix string
	// refusal is the reason of the Events that say why the pod cannot
	// fail over once room-a is lost; "" when it fails over.
	refusal string
	// message holds text those Events must contain.
	message []string
}

// protectionCluster runs sidecars on the nodes of room-a, room-b and on
// node-c1 in room-c, with sidecarCluster's fast timings.
func protectionCluster(t *testing.T) *cluster.Cluster {
	t.Helper()
	o := sidecarOptions(t)
	o.Nodes = roomsAndThird()
	return startCluster(t, o)
}

// TestProtectionRoomLossTiebreakerInThirdZone: with the tiebreaker in a
// third room, the volume is ZoneSafe; losing room-a fails its pod over to
// room-b and no Event refuses it.
func TestProtectionRoomLossTiebreakerInThirdZone(t *testing.T) {
	protectionRoomLoss(t, roomPlacement{tiebreakers: []string{"node-c1"}, protection: "ZoneSafe"})
}

// TestProtectionRoomLossTiebreakerInRoom: with the tiebreaker in room-a
// next to a diskful replica, the volume survives any one node but not
// room-a. Losing room-a leaves node-b1 without quorum: the pod stays, and
// node-b1 says why on the pod and on node-a1, once.
func TestProtectionRoomLossTiebreakerInRoom(t *testing.T) {
	protectionRoomLoss(t, roomPlacement{
		tiebreakers: []string{"node-a2"}, protection: "NodeSafe",
		fix:     "move the tiebreaker on node node-a2 to a third zone",
		refusal: "SurvivorsWithoutQuorum",
		message: []string{
			"cannot fail over from node-a1",
			"DRBD on node-b1 lost the diskful replica on node-a1 and the tiebreaker on node-a2, and no replica left may promote it",
			"losing nodes node-a1 and node-a2 leaves 1 of 2 diskful replicas and no tiebreaker: no quorum",
			"put the tiebreaker in a third zone",
		},
	})
}

// TestProtectionRoomLossWithoutTiebreaker: two diskful replicas and no
// tiebreaker survive no loss at all; losing room-a leaves node-b1 without
// quorum, and it says so.
func TestProtectionRoomLossWithoutTiebreaker(t *testing.T) {
	protectionRoomLoss(t, roomPlacement{
		protection: "Unprotected",
		fix:        "add a tiebreaker in a third zone",
		refusal:    "SurvivorsWithoutQuorum",
		message: []string{
			"DRBD on node-b1 lost the diskful replica on node-a1, and no replica left may promote it",
			"the resource has no tiebreaker", "add a tiebreaker on a third node",
		},
	})
}

func protectionRoomLoss(t *testing.T, p roomPlacement) {
	c := protectionCluster(t)
	ctx := context.Background()
	namespace(t, c, "db")
	vol, first := statefulPodWith(t, c, cluster.Volume{Namespace: "db", Claim: "data-pg-0", Diskful: []string{"node-a1", "node-b1"}, Tiebreakers: p.tiebreakers},
		cluster.StatefulSet("db", "pg"), "node-a1")
	res := vol.Resource()
	watchWriters(t, c, res)

	// Before: the reports, kubectl get, the status command, the metric.
	waitFor(t, 30*time.Second, "node-a1's report to give the volume's protection "+p.protection, func(ctx context.Context) (bool, error) {
		rr, err := reports(t, c).Get(ctx, "node-a1")
		if err != nil {
			return false, nil
		}
		for _, r := range rr.Status.Resources {
			if r.Name == res && r.Protection != nil && r.Protection.Summary == p.protection {
				return true, nil
			}
		}
		return false, nil
	})
	checkReportColumns(t, c, p.protection)
	// Each node's report comes on its own: the status command judges once
	// every replica's report lists the volume.
	var before status.Volume
	waitFor(t, 30*time.Second, "linstor-ha status to judge the volume "+p.protection, func(context.Context) (bool, error) {
		before = statusOf(t, c, res)
		return before.Protection == p.protection, nil
	})
	checkStatusBefore(t, before, p)
	waitFor(t, 30*time.Second, "linstor_ha_volumes{protection="+p.protection+"} to count the volume once", func(ctx context.Context) (bool, error) {
		n, err := sidecarGauge(ctx, c, "linstor_ha_volumes", "protection", p.protection)
		return err == nil && n == 1, nil
	})

	loseRoomA(t, c)
	if p.refusal == "" {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		at, err := c.WaitRunningAttached(wctx, "db", "pg-0", res, first.UID)
		if err != nil || at.Node != "node-b1" {
			t.Fatalf("replacement at %+v (%v), want it on node-b1, which keeps quorum with the tiebreaker in room-c", at, err)
		}
		if got := events(ctx, c, "db", "pg-0", metadata.ReasonFailOverRefused); len(got) != 0 {
			t.Errorf("fail-over refused although it happened: %v", got[0].Message)
		}
	} else {
		checkRefusedOnce(t, c, res, first.UID, p)
	}

	// After: the volume survives no further loss, and says so.
	waitFor(t, 30*time.Second, "the status to show room-a's replicas stale and the volume Unprotected", func(context.Context) (bool, error) {
		v := statusOf(t, c, res)
		for _, r := range v.Replicas {
			if slices.Contains(roomA, r.Node) && r.Report != status.ReportStale {
				return false, nil
			}
		}
		return v.Protection == "Unprotected", nil
	})
	waitFor(t, 30*time.Second, "linstor_ha_volumes{protection=Unprotected} to count the volume once, from room-b", func(ctx context.Context) (bool, error) {
		n, err := sidecarGauge(ctx, c, "linstor_ha_volumes", "protection", "Unprotected")
		return err == nil && n == 1, nil
	})
}

// checkReportColumns checks that `kubectl get replicareports` shows, at a
// glance, node-a1's volume that would not survive a room loss.
func checkReportColumns(t *testing.T, c *cluster.Cluster, protection string) {
	t.Helper()
	out, err := kubectlWithPath(t, c, nil, "get", "replicareports", "node-a1")
	if err != nil {
		t.Fatalf("kubectl get replicareports: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("kubectl get replicareports node-a1:\n%s", out)
	}
	header, row := strings.Fields(lines[0]), strings.Fields(lines[1])
	cell := func(name string) string {
		i := slices.Index(header, name)
		if i < 0 || i >= len(row) {
			t.Fatalf("no column %s in\n%s", name, out)
		}
		return row[i]
	}
	notZoneSafe, unprotected := "1", "0"
	switch protection {
	case "ZoneSafe":
		notZoneSafe = "0"
	case "Unprotected":
		unprotected = "1"
	}
	if cell("NOT-ZONE-SAFE") != notZoneSafe || cell("UNPROTECTED") != unprotected {
		t.Errorf("kubectl get replicareports node-a1, want NOT-ZONE-SAFE %s and UNPROTECTED %s:\n%s", notZoneSafe, unprotected, out)
	}
}

// checkStatusBefore checks what the status command says before the loss.
func checkStatusBefore(t *testing.T, v status.Volume, p roomPlacement) {
	t.Helper()
	if v.Protection != p.protection || v.Claim != "db/data-pg-0" {
		t.Errorf("status: protection %s, claim %s; want %s, db/data-pg-0", v.Protection, v.Claim, p.protection)
	}
	if len(v.Pods) != 1 || v.Pods[0].Name != "pg-0" || v.Pods[0].Node != "node-a1" {
		t.Errorf("status: pods %+v, want pg-0 on node-a1", v.Pods)
	}
	if len(v.Replicas) != 2+len(p.tiebreakers) {
		t.Errorf("status: replicas %+v", v.Replicas)
	}
	for _, r := range v.Replicas {
		if r.Report != status.ReportFresh || (r.Node == "node-a1" && (r.Role != "Primary" || r.Zone != "room-a" || r.Kind != status.KindDiskful)) {
			t.Errorf("status: replica %+v", r)
		}
	}
	switch {
	case p.fix == "" && (len(v.ToSurviveRoomLoss) != 0 || len(v.NotSurvived) != 0):
		t.Errorf("status of a ZoneSafe volume: not survived %+v, fixes %q", v.NotSurvived, v.ToSurviveRoomLoss)
	case p.fix != "" && (len(v.ToSurviveRoomLoss) == 0 || !strings.Contains(v.ToSurviveRoomLoss[0], p.fix)):
		t.Errorf("status: fixes %q, want the first to say %q", v.ToSurviveRoomLoss, p.fix)
	case p.fix != "" && !slices.ContainsFunc(v.NotSurvived, func(f status.Failure) bool { return f.Failure == "zone room-a" }):
		t.Errorf("status: not survived %+v, want zone room-a", v.NotSurvived)
	}
}

// checkRefusedOnce waits for the Events that say why the pod cannot fail
// over, checks that each says it once and that the pod stays, and that the
// refusals are counted.
func checkRefusedOnce(t *testing.T, c *cluster.Cluster, res string, uid types.UID, p roomPlacement) {
	t.Helper()
	ctx := context.Background()
	ours := func(ns, name string) []corev1.Event {
		var out []corev1.Event
		for _, e := range events(ctx, c, ns, name, metadata.ReasonFailOverRefused) {
			if strings.HasPrefix(e.Message, p.refusal+": ") && strings.Contains(e.Message, res) {
				out = append(out, e)
			}
		}
		return out
	}
	waitFor(t, time.Minute, "Events on pg-0 and node-a1 that say why it cannot fail over", func(context.Context) (bool, error) {
		return len(ours("db", "pg-0")) > 0 && len(ours("", "node-a1")) > 0, nil
	})
	// Long enough for many evaluations: the condition lasts, the Events
	// stay single.
	time.Sleep(8 * time.Second)
	for _, obj := range []struct{ ns, name string }{{"db", "pg-0"}, {"", "node-a1"}} {
		got := ours(obj.ns, obj.name)
		if len(got) != 1 || timesRecorded(got[0]) > 1 || got[0].Type != corev1.EventTypeWarning {
			t.Errorf("%s: %d FailOverRefused Events (%+v), want one Warning, recorded once", obj.name, len(got), got)
			continue
		}
		t.Logf("Event on %s: %s", obj.name, got[0].Message)
		for _, want := range p.message {
			if !strings.Contains(got[0].Message, want) {
				t.Errorf("%s: Event %q lacks %q", obj.name, got[0].Message, want)
			}
		}
		if by := c.EventReporter(got[0].ReportingInstance); by != "node-b1" {
			t.Errorf("%s: Event from %q (%s), want the one survivor, node-b1", obj.name, by, got[0].ReportingInstance)
		}
	}
	pod, err := getPod(ctx, c, "db", "pg-0")
	if err != nil || pod.UID != uid {
		t.Errorf("pg-0 = %v (%v), want the old pod left alone", pod, err)
	}
	if n, err := sidecarCounterOn(ctx, c, "node-b1", "linstor_ha_failover_refusals_total", "reason", p.refusal); err != nil || n != 2 {
		t.Errorf("linstor_ha_failover_refusals_total{reason=%q} on node-b1 = %v (%v), want 2: the pod's Event and its node's", p.refusal, n, err)
	}
}

// TestProtectionStatusAsKubectlPlugin runs the status command the way an
// operator does, as a kubectl plugin, on a volume whose tiebreaker shares
// room-a with a diskful replica.
func TestProtectionStatusAsKubectlPlugin(t *testing.T) {
	c := protectionCluster(t)
	ctx := context.Background()
	namespace(t, c, "db")
	vol := cluster.Volume{Namespace: "db", Claim: "data-pg-0", Diskful: []string{"node-a1", "node-b1"}, Tiebreakers: []string{"node-a2"}}
	if err := c.CreateVolume(ctx, vol); err != nil {
		t.Fatal(err)
	}
	plugins := t.TempDir()
	raw, err := os.ReadFile(statusCommand(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(plugins, "kubectl-linstor_ha"), raw, 0o755); err != nil {
		t.Fatal(err)
	}
	var out string
	waitFor(t, 30*time.Second, "kubectl linstor-ha status to show the volume", func(context.Context) (bool, error) {
		out, err = kubectlWithPath(t, c, []string{plugins}, "linstor-ha", "status", "db/data-pg-0")
		return err == nil && strings.Contains(out, "PROTECTION NodeSafe") && !strings.Contains(out, "<none>"), nil
	})
	for _, want := range []string{
		"1 volume: 1 NodeSafe",
		"VOLUME " + vol.Resource() + "  CLAIM db/data-pg-0  PROTECTION NodeSafe",
		"node-a2  room-a  tiebreaker",
		"Does not survive:  zone room-a: losing zone room-a leaves 1 of 2 diskful replicas and no tiebreaker",
		"To survive a room loss: move the tiebreaker on node node-a2 to a third zone",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl linstor-ha status lacks %q:\n%s", want, out)
		}
	}
	if out, err := kubectlWithPath(t, c, []string{plugins}, "linstor-ha", "status", "no-such-volume"); err == nil || !strings.Contains(out, "no replica report lists no-such-volume") {
		t.Errorf("an unknown volume: %v\n%s", err, out)
	}
}
