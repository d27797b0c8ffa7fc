package cluster

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// controlPlane is etcd, kube-apiserver and kube-controller-manager.
type controlPlane struct {
	dir   string
	tools string
	pki   *pki
	opts  *Options
	procs *processTable

	etcdURL        string
	apiPort        int
	etcd, api, kcm *process
	scheduler      *process
}

func (cp *controlPlane) apiURL() string { return "https://127.0.0.1:" + strconv.Itoa(cp.apiPort) }

// adminKubeconfig is the path of the cluster-admin kubeconfig.
func (cp *controlPlane) adminKubeconfig() string { return filepath.Join(cp.dir, "admin.kubeconfig") }

func (cp *controlPlane) setup() error {
	var err error
	if cp.pki, err = newPKI(cp.dir); err != nil {
		return err
	}
	if cp.apiPort, err = freePort(); err != nil {
		return err
	}
	if err := cp.pki.issue("apiserver", "kube-apiserver", nil, true, "127.0.0.1", "localhost", "kubernetes.default.svc"); err != nil {
		return err
	}
	if err := cp.pki.serviceAccountKey(); err != nil {
		return err
	}
	users := map[string][]string{
		"admin":                   {"system:masters"},
		"kube-controller-manager": nil,
		"kube-scheduler":          nil,
	}
	for user, groups := range users {
		cn := user
		if user != "admin" {
			cn = "system:" + user
		}
		if err := cp.pki.issue(user, cn, groups, false); err != nil {
			return err
		}
		if err := cp.pki.writeKubeconfig(filepath.Join(cp.dir, user+".kubeconfig"), cp.apiURL(), user); err != nil {
			return err
		}
	}
	return nil
}

func (cp *controlPlane) startEtcd(ctx context.Context) error {
	bin, err := toolPath(cp.tools, toolEtcd)
	if err != nil {
		return err
	}
	client, err := freePort()
	if err != nil {
		return err
	}
	peer, err := freePort()
	if err != nil {
		return err
	}
	cp.etcdURL = "http://127.0.0.1:" + strconv.Itoa(client)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peer)
	args := []string{
		"--name=default",
		"--data-dir=" + filepath.Join(cp.dir, "etcd"),
		"--listen-client-urls=" + cp.etcdURL,
		"--advertise-client-urls=" + cp.etcdURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=default=" + peerURL,
		"--log-level=warn",
	}
	if !cp.opts.EtcdFsync {
		// A test cluster loses nothing worth an fsync.
		args = append(args, "--unsafe-no-fsync")
	}
	cp.etcd, err = cp.procs.start(cp.dir, "etcd", bin, args, nil)
	if err != nil {
		return err
	}
	return cp.etcd.waitFor(ctx, "etcd health", func() error { return healthy(http.DefaultClient, cp.etcdURL+"/health") })
}

func (cp *controlPlane) startAPIServer(ctx context.Context) error {
	bin, err := toolPath(cp.tools, toolAPIServer)
	if err != nil {
		return err
	}
	p := cp.pki
	cp.api, err = cp.procs.start(cp.dir, "kube-apiserver", bin, []string{
		"--etcd-servers=" + cp.etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(cp.apiPort),
		"--cert-dir=" + filepath.Join(cp.dir, "apiserver"),
		"--tls-cert-file=" + p.path("apiserver.crt"),
		"--tls-private-key-file=" + p.path("apiserver.key"),
		"--client-ca-file=" + p.path("ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.path("sa.pub"),
		"--service-account-signing-key-file=" + p.path("sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--authorization-mode=Node,RBAC",
		// On loopback there is no address to publish the kubernetes
		// Service endpoints on.
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--default-not-ready-toleration-seconds=" + strconv.Itoa(cp.opts.DefaultTolerationSeconds),
		"--default-unreachable-toleration-seconds=" + strconv.Itoa(cp.opts.DefaultTolerationSeconds),
		"--profiling=false",
		"-v=1",
	}, nil)
	if err != nil {
		return err
	}
	client, err := cp.client()
	if err != nil {
		return err
	}
	return cp.api.waitFor(ctx, "kube-apiserver readiness", func() error {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("%v: %s", err, body)
		}
		return nil
	})
}

func (cp *controlPlane) startControllerManager(ctx context.Context) error {
	bin, err := toolPath(cp.tools, toolController)
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(cp.dir, "kube-controller-manager.kubeconfig")
	p := cp.pki
	cp.kcm, err = cp.procs.start(cp.dir, "kube-controller-manager", bin, []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--controllers=*",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + p.path("sa.key"),
		"--root-ca-file=" + p.path("ca.crt"),
		"--cluster-signing-cert-file=" + p.path("ca.crt"),
		"--cluster-signing-key-file=" + p.path("ca.key"),
		"--leader-elect=false",
		"--node-monitor-grace-period=" + cp.opts.NodeMonitorGracePeriod.String(),
		"--node-monitor-period=" + cp.opts.NodeMonitorPeriod.String(),
		"--kube-api-qps=" + strconv.Itoa(cp.opts.ControllerManagerQPS),
		"--kube-api-burst=" + strconv.Itoa(2*cp.opts.ControllerManagerQPS),
		// Keep every file the cluster writes in its directory.
		"--flex-volume-plugin-dir=" + filepath.Join(cp.dir, "flexvolume"),
		"-v=1",
	}, nil)
	if err != nil {
		return err
	}
	return cp.kcm.waitFor(ctx, "kube-controller-manager health", func() error {
		return httpsOK("https://127.0.0.1:" + strconv.Itoa(port) + "/healthz")
	})
}

func (cp *controlPlane) client() (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", cp.adminKubeconfig())
	if err != nil {
		return nil, fmt.Errorf("failed to load admin kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	return kubernetes.NewForConfig(cfg)
}

// processes returns the control plane's processes that were started.
func (cp *controlPlane) processes() []*process {
	var out []*process
	for _, p := range []*process{cp.etcd, cp.api, cp.kcm, cp.scheduler} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

func (cp *controlPlane) stop() {
	for _, p := range []*process{cp.scheduler, cp.kcm, cp.api, cp.etcd} {
		if p != nil {
			p.stop(5 * time.Second)
		}
	}
}
