package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/kubernetes-csi/csi-lib-utils/connection"
	"github.com/kubernetes-csi/csi-lib-utils/rpc"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"

	policyv1client "k8s.io/client-go/kubernetes/typed/policy/v1"
	storagev1client "k8s.io/client-go/kubernetes/typed/storage/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/clusterview"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/conflict"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/failover"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/liveness"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/metrics"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/report"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/watchdog"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdjson"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdsetup"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/pkg/restconfig"
)

// ConnectCSI connects to the CSI driver, retrying while its socket is
// missing, waits until it is ready, and checks that it is the driver this
// sidecar serves.
func ConnectCSI(ctx context.Context, o *Options) (*grpc.ClientConn, string, error) {
	logger := klog.FromContext(ctx)
	var conn *grpc.ClientConn
	for {
		var err error
		conn, err = connection.Connect(ctx, o.CSIAddress, nil, connection.WithTimeout(10*time.Second))
		if err == nil {
			break
		}
		logger.Error(err, "Failed to connect to the CSI driver, retrying", "csiAddress", o.CSIAddress)
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	if err := rpc.ProbeForever(ctx, conn, 10*time.Second); err != nil {
		conn.Close()
		return nil, "", fmt.Errorf("failed to probe the CSI driver at %s: %w", o.CSIAddress, err)
	}
	name, err := rpc.GetDriverName(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, "", fmt.Errorf("failed to get the CSI driver's name: %w", err)
	}
	if name != o.DriverName {
		conn.Close()
		return nil, "", fmt.Errorf("the CSI driver at %s is %q, not %q: this sidecar only serves %s", o.CSIAddress, name, o.DriverName, o.DriverName)
	}
	info, err := csi.NewNodeClient(conn).NodeGetInfo(ctx, &csi.NodeGetInfoRequest{})
	if err != nil {
		conn.Close()
		return nil, "", fmt.Errorf("failed to get node info from the CSI driver: %w", err)
	}
	zone := info.GetAccessibleTopology().GetSegments()[corev1.LabelTopologyZone]
	logger.Info("Connected to the CSI driver", "driver", name, "nodeID", info.GetNodeId(), "zone", zone)
	return conn, zone, nil
}

// Run runs the sidecar until ctx ends.
func Run(ctx context.Context, o *Options, zone string) error {
	logger := klog.FromContext(ctx)
	loaded, err := restconfig.Load(o.Kubeconfig, o.KubeAPIQPS, o.KubeAPIBurst, "linstor-ha-sidecar/"+o.NodeName)
	if err != nil {
		return err
	}
	cfg, err := restconfig.WithHealthCheck(loaded, o.KubeAPIHealthCheck)
	if err != nil {
		return err
	}
	client, err := newClients(cfg)
	if err != nil {
		return err
	}
	reports, err := report.NewClient(cfg)
	if err != nil {
		return err
	}
	m := metrics.New()
	store := state.NewStore()
	// The liveness probe fails while a loop is stuck.
	dog := watchdog.New(clock.RealClock{})
	dog.Require("drbdsetup events2 initial dump complete", o.StuckAfter, store.Synced)

	// Events through events.k8s.io/v1, with an action and the related
	// object; the instance is the pod's hostname, its name.
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
	if err := broadcaster.StartRecordingToSinkWithContext(ctx); err != nil {
		return fmt.Errorf("failed to start recording Events: %w", err)
	}
	defer broadcaster.Shutdown()
	eventScheme := runtime.NewScheme()
	if err := corev1.AddToScheme(eventScheme); err != nil {
		return err
	}
	recorder := broadcaster.NewRecorder(eventScheme, metadata.SidecarEventController)

	leases, err := leaseClient(loaded, o)
	if err != nil {
		return err
	}
	var observer *liveness.Observer
	if leases != nil {
		// The watch gets a client without the renewals' timeout, which
		// would cut its stream every few seconds.
		watchCfg := rest.CopyConfig(cfg)
		watchCfg.QPS, watchCfg.Burst = 10, 20
		wc, err := coordinationv1client.NewForConfig(watchCfg)
		if err != nil {
			return fmt.Errorf("failed to create a Kubernetes client: %w", err)
		}
		watched := wc.Leases(o.LivenessNamespace)
		observer = liveness.NewWatchingObserver(watched, watched, o.LivenessNamespace, o.NodeName)
	} else {
		logger.Info("Liveness leases are off: a crashed peer is proven only by its stale report or its NotReady node")
	}
	var ctrl *failover.Controller
	view, err := clusterview.New(client, o.NodeName, func() { ctrl.Trigger() })
	if err != nil {
		return err
	}
	conflicts, err := conflict.New(client, o.ConflictingActorSelector, func() { ctrl.Trigger() })
	if err != nil {
		return err
	}
	ctrl = failover.NewController(failover.ControllerOptions{
		Node: o.NodeName, Timeout: o.FailOverTimeout, Hysteresis: o.UntaintAfter,
		ReportStaleAfter: o.ReportStaleAfter, EvidenceGrace: o.LivenessDuration, DryRun: o.DryRun,
		Taints: failover.TaintKeys{LostQuorum: o.LostQuorumTaint, ForceIOError: o.ForceIOErrorTaint}, DisableNodeTaints: o.DisableNodeTaints, PeerNode: o.PeerNode, Liveness: observer,
		Conflicts: conflicts, Progress: dog.Loop("fail-over evaluation", o.StuckAfter),
		ReadOptions: func(ctx context.Context) ([]drbdjson.ShowResource, error) {
			return drbdsetup.Show(ctx, o.Drbdsetup, drbdsetup.DefaultCommandTimeout)
		},
	}, store, view, reports, &failover.Executor{
		Client: client, Nodes: view.Node,
		ForceSecondary: func(ctx context.Context, resource string) error {
			return drbdsetup.ForceSecondary(ctx, o.Drbdsetup, resource, drbdsetup.DefaultCommandTimeout)
		},
	}, recorder, m)
	publisher := report.NewPublisher(report.Options{
		NodeName: o.NodeName, Zone: zone, Heartbeat: o.ReportHeartbeat, PeerNode: o.PeerNode,
		Progress: dog.Loop("replica report write", o.StuckAfter),
		OnWrite: func(err error) {
			if err != nil {
				m.APIErrors.WithLabelValues("WriteReport").Inc()
				return
			}
			m.ReportWritten.SetToCurrentTime()
		},
	}, reports, store)
	follow := drbdsetup.New(drbdsetup.Options{
		Drbdsetup: o.Drbdsetup,
		OnChange: func(names []string) {
			publisher.Changed(names)
			ctrl.Trigger()
		},
		OnParseError: func(string, error) { m.ParseErrors.Inc() },
		OnRestart: func(error) {
			m.DrbdsetupRestarts.Inc()
			publisher.Changed(nil)
			ctrl.StreamRestarted()
		},
	}, store)

	g, ctx := errgroup.WithContext(ctx)
	view.Start(ctx)
	conflicts.Start(ctx)
	if observer != nil {
		observer.Start(ctx)
	}
	g.Go(func() error { return follow.Run(ctx) })
	g.Go(func() error { return publisher.Run(ctx) })
	g.Go(func() error { return ctrl.Run(ctx) })
	if observer != nil {
		renewer := &liveness.Renewer{
			Leases: leases, Node: o.NodeName, Interval: o.LivenessInterval, Duration: o.LivenessDuration,
			OnError: func(err error) {
				logger.Error(err, "Failed to renew the liveness lease")
				m.APIErrors.WithLabelValues("RenewLease").Inc()
			},
		}
		g.Go(func() error { renewer.Run(ctx); return nil })
	}
	if o.HTTPEndpoint != "" {
		serveHTTP(ctx, g, o.HTTPEndpoint, mux(m, store, view, conflicts, dog))
	}
	logger.Info("Sidecar running", "node", o.NodeName, "zone", zone, "failOverTimeout", o.FailOverTimeout, "dryRun", o.DryRun, "conflictingActorSelector", o.ConflictingActorSelector)
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// serveHTTP serves handler on addr in g until ctx ends.
func serveHTTP(ctx context.Context, g *errgroup.Group, addr string, handler http.Handler) {
	srv := &http.Server{Addr: addr, Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	g.Go(func() error {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("failed to serve %s: %w", addr, err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
}

func mux(m *metrics.Metrics, store *state.Store, view *clusterview.View, conflicts *conflict.Watcher, dog *watchdog.Watchdog) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	// Alive unless a loop is stuck: a restart is then the way out. Being
	// cut off from the API server or DRBD is not a reason to restart.
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if stuck := dog.Stuck(); len(stuck) > 0 {
			http.Error(w, "stuck:\n"+strings.Join(stuck, "\n"), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !store.Synced() || !view.Synced() || !conflicts.Synced() {
			http.Error(w, "DRBD state or cluster view not synced", http.StatusServiceUnavailable)
			return
		}
		// A sidecar that refuses to act is not ready: a rollout that
		// leaves the HA controller running stops at the first node.
		if pods := conflicts.Pods(); len(pods) > 0 {
			http.Error(w, conflict.NotReady(pods, conflicts.Selector()), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	return mux
}

// leaseClient returns the client of the nodes' liveness Leases, nil when
// they are off. Leases get a client of their own, with its own rate limit
// and a timeout, so that a mass fail-over's calls or a hung connection
// cannot hold up this node's sign of life.
func leaseClient(cfg *rest.Config, o *Options) (coordinationv1client.LeaseInterface, error) {
	if o.LivenessNamespace == "" {
		return nil, nil
	}
	// Its own connection too: a Lease renewal must not wait behind a
	// room's worth of fail-over calls on one HTTP/2 connection.
	leaseCfg, err := restconfig.WithHealthCheck(cfg, o.KubeAPIHealthCheck)
	if err != nil {
		return nil, err
	}
	leaseCfg.QPS, leaseCfg.Burst, leaseCfg.Timeout = 10, 20, o.LivenessDuration
	lc, err := coordinationv1client.NewForConfig(leaseCfg)
	if err != nil {
		return nil, fmt.Errorf("failed to create a Kubernetes client: %w", err)
	}
	return lc.Leases(o.LivenessNamespace), nil
}

// clients holds the API group clients the sidecar uses, without a full
// clientset.
type clients struct {
	core    corev1client.CoreV1Interface
	storage storagev1client.StorageV1Interface
	policy  policyv1client.PolicyV1Interface
	events  eventsv1client.EventsV1Interface
}

func (c *clients) CoreV1() corev1client.CoreV1Interface          { return c.core }
func (c *clients) StorageV1() storagev1client.StorageV1Interface { return c.storage }
func (c *clients) PolicyV1() policyv1client.PolicyV1Interface    { return c.policy }
func (c *clients) EventsV1() eventsv1client.EventsV1Interface    { return c.events }

func newClients(cfg *rest.Config) (*clients, error) {
	var c clients
	var err error
	if c.core, err = corev1client.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("failed to create a Kubernetes client: %w", err)
	}
	if c.storage, err = storagev1client.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("failed to create a Kubernetes client: %w", err)
	}
	if c.policy, err = policyv1client.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("failed to create a Kubernetes client: %w", err)
	}
	if c.events, err = eventsv1client.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("failed to create a Kubernetes client: %w", err)
	}
	return &c, nil
}
