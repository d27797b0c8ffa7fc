package drbdreplicas

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/pkg/replicas"
)

// BenchmarkPodOver1000Nodes runs PreFilter, Filter and Score for one pod
// with 3 volumes over 1,000 nodes, each with a report of 100 resources.
func BenchmarkPodOver1000Nodes(b *testing.B) {
	const nodes, resourcesPerNode = 1000, 100
	ix := replicas.NewIndex()
	infos := make([]fwk.NodeInfo, 0, nodes)
	for i := range nodes {
		name, zone := fmt.Sprintf("node-%04d", i), fmt.Sprintf("zone-%d", i%3)
		rep := &v1alpha1.ReplicaReport{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Status:     v1alpha1.ReplicaReportStatus{NodeName: name, Zone: zone, Synced: true, HeartbeatTime: metav1.NewMicroTime(testNow)},
		}
		for r := range resourcesPerNode {
			// Resource k lives on nodes k, k+1 and k+2 (mod nodes).
			k := (i - r%3 + nodes) % nodes
			rep.Status.Resources = append(rep.Status.Resources, resourceReport(fmt.Sprintf("res-%04d-%d", k, r/3), "UpToDate"))
		}
		ix.Set(rep)
		ni := framework.NewNodeInfo()
		ni.SetNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{metadata.LabelTopologyZone: zone}}})
		infos = append(infos, ni)
	}
	objs := storageObjects("res-0010-0", "res-0500-1", "res-0990-2")
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	s, err := decodeArgs(nil)
	if err != nil {
		b.Fatal(err)
	}
	p := &Plugin{settings: s, index: ix, now: func() time.Time { return testNow }, volumes: &volumeLister{
		claims:  factory.Core().V1().PersistentVolumeClaims().Lister(),
		volumes: factory.Core().V1().PersistentVolumes().Lister(),
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		cancel()
		factory.Shutdown()
	}()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	pod := podWithClaims("claim-res-0010-0", "claim-res-0500-1", "claim-res-0990-2")

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		state := framework.NewCycleState()
		if _, st := p.PreFilter(ctx, state, pod, infos); !st.IsSuccess() {
			b.Fatal(st)
		}
		scores := make(fwk.NodeScoreList, 0, nodes)
		for _, ni := range infos {
			if st := p.Filter(ctx, state, pod, ni); !st.IsSuccess() {
				continue
			}
			sc, _ := p.Score(ctx, state, pod, ni)
			scores = append(scores, fwk.NodeScore{Name: ni.Node().Name, Score: sc})
		}
		if st := p.NormalizeScore(ctx, state, pod, scores); !st.IsSuccess() {
			b.Fatal(st)
		}
		if len(scores) != nodes {
			b.Fatalf("%d nodes passed, want all %d", len(scores), nodes)
		}
	}
}
