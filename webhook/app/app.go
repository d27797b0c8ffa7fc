package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/linstor-ha/linstor-ha/pkg/replicas"
	"github.com/linstor-ha/linstor-ha/pkg/reportclient"
	"github.com/linstor-ha/linstor-ha/pkg/restconfig"
	"github.com/linstor-ha/linstor-ha/webhook/podhandler"
)

// MutatePath is where the API server sends pod admissions.
const MutatePath = "/mutate-v1-pod"

// Run serves the webhook until ctx ends.
func Run(ctx context.Context, o *Options) error {
	logger := klog.FromContext(ctx)
	ctrl.SetLogger(logger)
	loaded, err := restconfig.Load(o.Kubeconfig, o.KubeAPIQPS, o.KubeAPIBurst, "linstor-ha-webhook")
	if err != nil {
		return err
	}
	// The lookups fail open on an error; a connection a partition left
	// open must turn into one within seconds, not after client-go's 45 s.
	cfg, err := restconfig.WithHealthCheck(loaded, restconfig.DefaultHealthCheck)
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	tlsOpts := []func(*tls.Config){func(c *tls.Config) { c.MinVersion = tls.VersionTLS12 }}
	if !o.EnableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	server := webhook.NewServer(webhook.Options{
		Host: o.BindAddress, Port: o.Port, CertDir: o.CertDir, CertName: o.CertName, KeyName: o.KeyName, TLSOpts: tlsOpts,
	})
	mgr, err := manager.New(cfg, manager.Options{
		Scheme:                 scheme,
		Metrics:                metricsOptions(o),
		HealthProbeBindAddress: o.HealthAddress,
		WebhookServer:          server,
		// The handler only reads: no copy per Get.
		Cache:  cache.Options{DefaultUnsafeDisableDeepCopy: ptr.To(true)},
		Logger: logger,
	})
	if err != nil {
		return fmt.Errorf("failed to create the manager: %w", err)
	}

	reports, err := reportclient.New(cfg)
	if err != nil {
		return err
	}
	index := replicas.NewIndex()
	if err := index.Start(ctx, reports.ListWatch()); err != nil {
		return err
	}
	protections := podhandler.NewProtectionIndex()
	if err := protections.Start(ctx, reports.ListWatch()); err != nil {
		return err
	}
	handler := &podhandler.Handler{
		Reader: mgr.GetCache(), APIReader: mgr.GetAPIReader(), Replicas: index, Protection: protections, StaleAfter: o.StaleAfter, OwnNamespace: o.OwnNamespace,
		Config: &o.Mutation, Metrics: podhandler.NewMetrics(ctrlmetrics.Registry), Now: time.Now,
	}
	// Registering through the manager is what adds the server to it.
	mgr.GetWebhookServer().Register(MutatePath, &webhook.Admission{Handler: handler, RecoverPanic: ptr.To(true)})

	// Start the informers of everything the handler reads now, so that the
	// first admissions do not wait for them.
	for _, obj := range []client.Object{&corev1.PersistentVolumeClaim{}, &corev1.PersistentVolume{}, &storagev1.StorageClass{}, &corev1.Namespace{}} {
		if _, err := mgr.GetCache().GetInformer(ctx, obj); err != nil {
			return fmt.Errorf("failed to watch %T: %w", obj, err)
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	// Ready only once the TLS server answers with its certificate and the
	// caches are filled.
	if err := mgr.AddReadyzCheck("webhook", server.StartedChecker()); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("caches", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return fmt.Errorf("caches not synced")
		}
		return nil
	}); err != nil {
		return err
	}
	logger.Info("Webhook starting", "port", o.Port, "certDir", o.CertDir, "mutation", o.Mutation, "ownNamespace", o.OwnNamespace)
	return mgr.Start(ctx)
}

// metricsOptions serves the metrics as Kubernetes components do: over
// HTTPS, to callers the API server vouches for. A metrics endpoint is not
// secret, but it tells which namespaces run stateful pods and how often
// fail-over happens, and anything in the cluster network can reach it.
func metricsOptions(o *Options) metricsserver.Options {
	opts := metricsserver.Options{BindAddress: o.MetricsAddress}
	if o.MetricsSecure {
		opts.SecureServing = true
		opts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	return opts
}

var _ admission.Handler = &podhandler.Handler{}
