package drbdreplicas

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/linstor-ha/linstor-ha/pkg/replicas"
	"github.com/linstor-ha/linstor-ha/pkg/reportclient"
)

// Name is the plugin's name in a scheduler profile.
const Name = "DRBDReplicas"

// initialSyncTimeout bounds how long the scheduler waits at start for the
// reports: long enough to place the first pods well, short enough that a
// missing CRD only delays, never stops, scheduling.
const initialSyncTimeout = 10 * time.Second

// Plugin places pods on nodes with healthy replicas of their DRBD volumes.
type Plugin struct {
	settings *settings
	volumes  *volumeLister
	index    *replicas.Index
	now      func() time.Time
	// reportEvents says whether the scheduler may watch the reports.
	reportEvents bool
}

var (
	_ fwk.PreFilterPlugin            = &Plugin{}
	_ fwk.FilterPlugin               = &Plugin{}
	_ fwk.PreScorePlugin             = &Plugin{}
	_ fwk.ScorePlugin                = &Plugin{}
	_ fwk.EnqueueExtensions          = &Plugin{}
	_ frameworkruntime.PluginFactory = New
)

// Name returns the plugin's name.
func (p *Plugin) Name() string { return Name }

// New builds the plugin and starts following the replica reports.
func New(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	s, err := decodeArgs(obj)
	if err != nil {
		return nil, err
	}
	client, err := reportclient.New(h.KubeConfig())
	if err != nil {
		return nil, err
	}
	logger := klog.FromContext(ctx)
	// One list tells whether the report API is there and readable.
	listCtx, cancelList := context.WithTimeout(ctx, initialSyncTimeout)
	_, listErr := client.List(listCtx, metav1.ListOptions{Limit: 1})
	cancelList()
	if listErr != nil {
		logger.Error(listErr, "Failed to list replica reports; scheduling without them, and without retrying pods on report changes")
	}
	index := replicas.NewIndex()
	if err := index.Start(ctx, client.ListWatch()); err != nil {
		return nil, fmt.Errorf("failed to watch replica reports: %w", err)
	}
	if listErr == nil {
		syncCtx, cancel := context.WithTimeout(ctx, initialSyncTimeout)
		defer cancel()
		if err := wait.PollUntilContextCancel(syncCtx, 100*time.Millisecond, true, func(context.Context) (bool, error) {
			return index.HasSynced(), nil
		}); err != nil {
			logger.Error(err, "Failed to load the replica reports in time; scheduling without them until they arrive")
		}
	}
	p := newPlugin(s, h, index)
	p.reportEvents = listErr == nil
	return p, nil
}

// NewWithIndex returns a factory for a plugin that reads index instead of
// following the reports itself.
func NewWithIndex(index *replicas.Index, now func() time.Time) frameworkruntime.PluginFactory {
	return func(_ context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
		s, err := decodeArgs(obj)
		if err != nil {
			return nil, err
		}
		p := newPlugin(s, h, index)
		p.reportEvents = true
		if now != nil {
			p.now = now
		}
		return p, nil
	}
}

func newPlugin(s *settings, h fwk.Handle, index *replicas.Index) *Plugin {
	f := h.SharedInformerFactory()
	return &Plugin{
		settings: s,
		volumes: &volumeLister{
			claims:  f.Core().V1().PersistentVolumeClaims().Lister(),
			volumes: f.Core().V1().PersistentVolumes().Lister(),
		},
		index: index,
		now:   time.Now,
	}
}

func readState(cs fwk.CycleState) (*podState, bool) {
	data, err := cs.Read(stateKey)
	if err != nil {
		return nil, false
	}
	s, ok := data.(*podState)
	return s, ok
}
