package cluster

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestProgressOfCountsEachStepOfAMove checks the steps of volumes moving
// from room-a to room-b, one volume stopped at each step.
func TestProgressOfCountsEachStepOfAMove(t *testing.T) {
	nodes := []*corev1.Node{zoned("node-a1", "room-a"), zoned("node-b1", "room-b"), zoned("node-b2", "room-b")}
	vol := func(i string) Volume {
		return Volume{Namespace: "rooms", Claim: "data-" + i, Diskful: []string{"node-a1", "node-b1"}, Tiebreakers: []string{"node-b2"}}
	}
	vols := []Volume{vol("old"), vol("attached-old"), vol("pending"), vol("scheduled"), vol("attached"), vol("diskless"), vol("running")}
	pods := []*corev1.Pod{
		// still on the lost node, its attachment too
		claimPod("old", "node-a1", corev1.PodRunning),
		// replaced, but the old attachment stays
		claimPod("attached-old", "", corev1.PodPending),
		claimPod("pending", "", corev1.PodPending),
		claimPod("scheduled", "node-b1", corev1.PodPending),
		claimPod("attached", "node-b1", corev1.PodPending),
		// runs, but on the tiebreaker, away from its data
		claimPod("diskless", "node-b2", corev1.PodRunning),
		claimPod("running", "node-b1", corev1.PodRunning),
	}
	terminating := claimPod("pending", "node-b1", corev1.PodRunning)
	terminating.DeletionTimestamp = &metav1.Time{}
	pods = append(pods, terminating)
	vas := []*storagev1.VolumeAttachment{
		attachment(vol("old"), "node-a1", true),
		attachment(vol("attached-old"), "node-a1", true),
		attachment(vol("attached"), "node-b1", true),
		attachment(vol("diskless"), "node-b2", true),
		attachment(vol("running"), "node-b1", true),
		// not attached yet
		attachment(vol("scheduled"), "node-b1", false),
	}
	got := progressOf(vols, "room-b", nodes, vas, pods)
	want := RoomProgress{OldPodsGone: 6, Detached: 5, Created: 6, Scheduled: 4, Attached: 3, Running: 1}
	if got != want {
		t.Errorf("progressOf = %+v, want %+v", got, want)
	}
}

func zoned(name, zone string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelTopologyZone: zone}}}
}

func claimPod(suffix, node string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "rooms", Name: "db-" + suffix},
		Spec: corev1.PodSpec{NodeName: node, Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-" + suffix}}}}},
		Status: corev1.PodStatus{Phase: phase},
	}
}

func attachment(v Volume, node string, attached bool) *storagev1.VolumeAttachment {
	return &storagev1.VolumeAttachment{
		ObjectMeta: metav1.ObjectMeta{Name: v.Resource() + "-" + node},
		Spec:       storagev1.VolumeAttachmentSpec{NodeName: node, Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To(v.Resource())}},
		Status:     storagev1.VolumeAttachmentStatus{Attached: attached},
	}
}
