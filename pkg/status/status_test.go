package status_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/pkg/status"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func res(name, disk, role string, client bool) v1alpha1.ResourceReport {
	return v1alpha1.ResourceReport{Name: name, Disk: disk, Role: role, Client: client, Diskless: client, Quorum: true}
}

func report(node, zone string, heartbeat time.Time, resources ...v1alpha1.ResourceReport) v1alpha1.ReplicaReport {
	return v1alpha1.ReplicaReport{ObjectMeta: metav1.ObjectMeta{Name: node}, Status: v1alpha1.ReplicaReportStatus{
		NodeName: node, Zone: zone, Synced: true, HeartbeatTime: metav1.NewMicroTime(heartbeat), Resources: resources}}
}

func pv(resource, ns, claim string) corev1.PersistentVolume {
	return corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: resource}, Spec: corev1.PersistentVolumeSpec{
		ClaimRef:               &corev1.ObjectReference{Namespace: ns, Name: claim},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: metadata.DriverName, VolumeHandle: resource}},
	}}
}

func pod(ns, name, node, claim string) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{NodeName: node, Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
}

// rooms is a cluster with three volumes, one per placement of the
// tiebreaker: in a third room (safe), in room-a (stuck with room-a), none.
func rooms() status.Inputs {
	hb := now.Add(-time.Second)
	return status.Inputs{
		Reports: []v1alpha1.ReplicaReport{
			report("node-a1", "room-a", hb, res("safe", "UpToDate", "Primary", false), res("in-room", "UpToDate", "Primary", false), res("none", "UpToDate", "Primary", false)),
			report("node-a2", "room-a", hb, res("in-room", "Diskless", "Secondary", true)),
			report("node-b1", "room-b", hb, res("safe", "UpToDate", "Secondary", false), res("in-room", "UpToDate", "Secondary", false), res("none", "UpToDate", "Secondary", false)),
			report("node-c1", "room-c", hb, res("safe", "Diskless", "Secondary", true)),
		},
		Volumes: []corev1.PersistentVolume{pv("safe", "db", "data-safe-0"), pv("in-room", "db", "data-stuck-0"), pv("none", "web", "data-none-0")},
		Pods: []corev1.Pod{
			pod("db", "safe-0", "node-a1", "data-safe-0"), pod("db", "stuck-0", "node-a1", "data-stuck-0"),
			pod("web", "none-0", "node-a1", "data-none-0"), pod("db", "other", "node-b1", "unrelated"),
		},
	}
}

func options() status.Options { return status.Options{Now: now, StaleAfter: 20 * time.Second} }

func TestProtectionStatusBuild(t *testing.T) {
	vols := status.Build(rooms(), options())
	var names []string
	for _, v := range vols {
		names = append(names, v.Resource+"="+v.Protection)
	}
	// The least protected first.
	if want := []string{"none=Unprotected", "in-room=NodeSafe", "safe=ZoneSafe"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("volumes %v, want %v", names, want)
	}
	inRoom := vols[1]
	if inRoom.Claim != "db/data-stuck-0" || inRoom.PersistentVolume != "in-room" {
		t.Errorf("in-room: claim %q, pv %q", inRoom.Claim, inRoom.PersistentVolume)
	}
	wantReplicas := []status.Replica{
		{Node: "node-a1", Zone: "room-a", Kind: "diskful", Role: "Primary", Disk: "UpToDate", Quorum: true, Report: "fresh"},
		{Node: "node-a2", Zone: "room-a", Kind: "tiebreaker", Role: "Secondary", Disk: "Diskless", Quorum: true, Report: "fresh"},
		{Node: "node-b1", Zone: "room-b", Kind: "diskful", Role: "Secondary", Disk: "UpToDate", Quorum: true, Report: "fresh"},
	}
	if !reflect.DeepEqual(inRoom.Replicas, wantReplicas) {
		t.Errorf("replicas %+v\nwant %+v", inRoom.Replicas, wantReplicas)
	}
	if want := []status.Pod{{Namespace: "db", Name: "stuck-0", Node: "node-a1", Phase: "Running"}}; !reflect.DeepEqual(inRoom.Pods, want) {
		t.Errorf("pods %+v, want %+v", inRoom.Pods, want)
	}
	if want := []string{"node node-a1", "node node-a2", "node node-b1", "zone room-b"}; !reflect.DeepEqual(inRoom.Survives, want) {
		t.Errorf("survives %v, want %v", inRoom.Survives, want)
	}
	if len(inRoom.NotSurvived) != 1 || inRoom.NotSurvived[0].Failure != "zone room-a" || inRoom.NotSurvived[0].Reason != "TiebreakerLost" ||
		!strings.Contains(inRoom.NotSurvived[0].Message, "put the tiebreaker in a third zone") {
		t.Errorf("not survived %+v, want room-a, for the tiebreaker lost with it", inRoom.NotSurvived)
	}
	if len(inRoom.ToSurviveRoomLoss) == 0 || !strings.Contains(inRoom.ToSurviveRoomLoss[0], "move the tiebreaker on node node-a2") {
		t.Errorf("fixes %q, want moving the tiebreaker first", inRoom.ToSurviveRoomLoss)
	}
	if none := vols[0]; len(none.ToSurviveRoomLoss) == 0 || !strings.Contains(none.ToSurviveRoomLoss[0], "tiebreaker") {
		t.Errorf("none: fixes %q, want adding a tiebreaker", none.ToSurviveRoomLoss)
	}
	if safe := vols[2]; len(safe.NotSurvived) != 0 || len(safe.ToSurviveRoomLoss) != 0 {
		t.Errorf("safe: %+v, want nothing it does not survive and nothing to change", safe)
	}
}

func TestProtectionStatusStaleReport(t *testing.T) {
	in := rooms()
	// node-b1's sidecar stopped confirming its report a minute ago: its
	// replica still votes but its data proves nothing.
	in.Reports[2].Status.HeartbeatTime = metav1.NewMicroTime(now.Add(-time.Minute))
	vols := status.Build(in, options())
	for _, v := range vols {
		if v.Resource != "safe" {
			continue
		}
		if v.Replicas[1].Node != "node-b1" || v.Replicas[1].Report != "stale" {
			t.Errorf("replicas %+v, want node-b1's report stale", v.Replicas)
		}
		if v.Protection != "Unprotected" {
			t.Errorf("protection %s, want Unprotected: losing node-a1 leaves no data known UpToDate", v.Protection)
		}
		return
	}
	t.Fatal("volume safe missing")
}

// TestProtectionStatusMissingReport: node-a1's DRBD names a tiebreaker on
// node-c1, whose report does not list the volume yet. Judged without it
// the volume would look unprotected: it is Unknown, and says why.
func TestProtectionStatusMissingReport(t *testing.T) {
	hb := now.Add(-time.Second)
	a1 := res("r", "UpToDate", "Primary", false)
	a1.Peers = []v1alpha1.PeerReport{{Name: "node-b1", Connection: "Connected", Disk: "UpToDate"}, {Name: "node-c1", Connection: "Connected", Disk: "Diskless", Client: true}}
	in := status.Inputs{Reports: []v1alpha1.ReplicaReport{
		report("node-a1", "room-a", hb, a1), report("node-b1", "room-b", hb, res("r", "UpToDate", "Secondary", false)), report("node-c1", "room-c", hb),
	}}
	vols := status.Build(in, options())
	if len(vols) != 1 {
		t.Fatalf("volumes %+v", vols)
	}
	v := vols[0]
	if v.Protection != "Unknown" || len(v.Problems) != 1 || !strings.Contains(v.Problems[0], "DRBD names replicas on node-c1, but no report of theirs lists the volume") {
		t.Errorf("protection %s, problems %q; want Unknown, for node-c1's missing report", v.Protection, v.Problems)
	}
	if last := v.Replicas[len(v.Replicas)-1]; last != (status.Replica{Node: "node-c1", Kind: "tiebreaker", Report: "missing"}) {
		t.Errorf("replicas %+v, want node-c1's tiebreaker shown as missing", v.Replicas)
	}
	if len(v.NotSurvived) != 0 || len(v.ToSurviveRoomLoss) != 0 {
		t.Errorf("a volume that cannot be judged has verdicts: %+v", v)
	}
	var buf bytes.Buffer
	if err := status.WriteTable(&buf, vols); err != nil || !strings.Contains(buf.String(), "Cannot judge:      DRBD names replicas on node-c1") {
		t.Errorf("table %q (%v), want the problem", buf.String(), err)
	}
}

func TestProtectionStatusSelect(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    status.Options
		want []string
	}{
		{"by resource", status.Options{Names: []string{"safe"}}, []string{"safe"}},
		{"by claim", status.Options{Names: []string{"data-stuck-0"}}, []string{"in-room"}},
		{"by namespace/claim", status.Options{Names: []string{"web/data-none-0"}}, []string{"none"}},
		{"by namespace", status.Options{Namespace: "db"}, []string{"in-room", "safe"}},
		{"namespace and a name elsewhere", status.Options{Namespace: "db", Names: []string{"none"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Now, o.StaleAfter = now, 20*time.Second
			var got []string
			for _, v := range status.Build(rooms(), o) {
				got = append(got, v.Resource)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	vols := status.Build(rooms(), options())
	if got := status.Unmatched(vols, []string{"safe", "db/data-stuck-0", "missing"}); !reflect.DeepEqual(got, []string{"missing"}) {
		t.Errorf("unmatched %v, want [missing]", got)
	}
}

func TestProtectionStatusTable(t *testing.T) {
	var buf bytes.Buffer
	if err := status.WriteTable(&buf, status.Build(rooms(), options())); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"3 volumes: 1 Unprotected, 1 NodeSafe, 1 ZoneSafe",
		"VOLUME in-room  CLAIM db/data-stuck-0  PROTECTION NodeSafe",
		"NODE     ZONE    KIND        ROLE       DISK      QUORUM  REPORT",
		"node-a2  room-a  tiebreaker  Secondary  Diskless  yes     fresh",
		"Pods:              db/stuck-0 on node-a1 (Running)",
		"Survives:          node node-a1, node node-a2, node node-b1, zone room-b",
		"Does not survive:  zone room-a: losing zone room-a leaves 1 of 2 diskful replicas and no tiebreaker",
		"To survive a room loss: move the tiebreaker on node node-a2 to a third zone",
		"To survive a room loss: nothing to change",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	buf.Reset()
	if err := status.WriteTable(&buf, nil); err != nil || !strings.Contains(buf.String(), "No DRBD volume found") {
		t.Errorf("empty table %q (%v)", buf.String(), err)
	}
}

func TestProtectionStatusJSON(t *testing.T) {
	var buf bytes.Buffer
	vols := status.Build(rooms(), options())
	if err := status.WriteJSON(&buf, vols); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Volumes []status.Volume `json:"volumes"`
	}
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Volumes, vols) {
		t.Errorf("JSON round trip changed the volumes:\n%s", buf.String())
	}
	buf.Reset()
	if err := status.WriteJSON(&buf, nil); err != nil || strings.TrimSpace(buf.String()) != "{\n  \"volumes\": []\n}" {
		t.Errorf("no volumes: %q (%v)", buf.String(), err)
	}
}

// pagedReports serves reports two at a time, and fails with err when set.
type pagedReports struct {
	items []v1alpha1.ReplicaReport
	err   error
	calls int
	// deadlines records whether each call had a deadline.
	deadlines []bool
}

func (p *pagedReports) List(ctx context.Context, opts metav1.ListOptions) (*v1alpha1.ReplicaReportList, error) {
	p.calls++
	_, ok := ctx.Deadline()
	p.deadlines = append(p.deadlines, ok)
	if p.err != nil {
		return nil, p.err
	}
	start := 0
	if opts.Continue != "" {
		start = int(opts.Continue[0] - '0')
	}
	end := min(start+2, len(p.items))
	list := &v1alpha1.ReplicaReportList{Items: p.items[start:end]}
	if end < len(p.items) {
		list.Continue = string(rune('0' + end))
	}
	return list, nil
}

func TestProtectionStatusCollect(t *testing.T) {
	in := rooms()
	var objs []runtime.Object
	for i := range in.Volumes {
		objs = append(objs, &in.Volumes[i])
	}
	for i := range in.Pods {
		objs = append(objs, &in.Pods[i])
	}
	// A pod without claims cannot use a DRBD volume: it is left out.
	objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "no-volumes"}})
	client := fake.NewClientset(objs...)
	reports := &pagedReports{items: in.Reports}
	got, err := status.Collect(context.Background(), status.Clients{Core: client.CoreV1(), Reports: reports}, "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Reports) != 4 || reports.calls != 2 {
		t.Errorf("%d reports in %d calls, want 4 in 2 pages", len(got.Reports), reports.calls)
	}
	for i, ok := range reports.deadlines {
		if !ok {
			t.Errorf("report list call %d without a deadline", i)
		}
	}
	if len(got.Volumes) != 3 || len(got.Pods) != 4 {
		t.Errorf("%d volumes and %d pods, want 3 and the 4 pods with claims", len(got.Volumes), len(got.Pods))
	}

	for _, tc := range []struct {
		err  error
		want string
	}{
		{apierrors.NewForbidden(schema.GroupResource{Group: "linstor-ha.io", Resource: "replicareports"}, "", errors.New("no")), "needs list on replicareports.linstor-ha.io"},
		{apierrors.NewNotFound(schema.GroupResource{Group: "linstor-ha.io", Resource: "replicareports"}, ""), "is the ReplicaReport CRD"},
		{context.DeadlineExceeded, "raise --request-timeout"},
	} {
		_, err := status.Collect(context.Background(), status.Clients{Core: client.CoreV1(), Reports: &pagedReports{err: tc.err}}, "", time.Second)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want it to say %q", err, tc.want)
		}
	}
}
