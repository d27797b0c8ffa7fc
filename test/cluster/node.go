package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/pkg/restconfig"
	"github.com/linstor-ha/linstor-ha/test/csidriver"
)

// Node is one kwok node with everything that lives and dies with it: its
// kwok, its kubelet stand-in, its CSI node endpoint and its view of DRBD.
type Node struct {
	Spec NodeSpec

	// Kubeconfig reaches the API server through the node's proxy; processes
	// of the node use it so that cutting the node off affects them too.
	Kubeconfig string
	// CSISocket is the node's CSI endpoint (Identity and Node services).
	CSISocket string
	// Drbdsetup runs drbdsetup against this node's view of the simulator.
	Drbdsetup string
	// SidecarHTTP is the address of the sidecar's metrics and health
	// endpoints.
	SidecarHTTP string
	// SidecarPod is the name of the CSI node pod whose sidecar runs on the
	// node, and the sidecar's hostname.
	SidecarPod string

	proxy   *apiProxy
	kwok    *process
	sidecar *process
	kubelet *kubelet
	csi     *csidriver.Server
	up      bool

	// sidecarTokenDir holds what the sidecar container sees at
	// restconfig.ServiceAccountDir.
	sidecarTokenDir string
}

// nodeObject is what a freshly registered node looks like: its zone, and
// the annotation that hands attaching to the attach-detach controller.
func nodeObject(spec NodeSpec) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: spec.Name,
		Labels: map[string]string{
			metadata.LabelTopologyZone: spec.Zone,
			corev1.LabelHostname:       spec.Name,
			corev1.LabelOSStable:       "linux",
			corev1.LabelArchStable:     "amd64",
		},
		Annotations: map[string]string{
			"volumes.kubernetes.io/controller-managed-attach-detach": "true",
		},
	}}
}

// csiNodeObject registers the driver on the node, as the kubelet's plugin
// registration does; the external-attacher reads the node id from it.
func csiNodeObject(spec NodeSpec) *storagev1.CSINode {
	return &storagev1.CSINode{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name},
		Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{
			Name:         metadata.DriverName,
			NodeID:       spec.Name,
			TopologyKeys: []string{metadata.LabelTopologyZone},
		}}},
	}
}

func (c *Cluster) registerNode(ctx context.Context, spec NodeSpec) error {
	if _, err := c.Client.CoreV1().Nodes().Create(ctx, nodeObject(spec), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create node %s: %w", spec.Name, err)
	}
	csiNode := csiNodeObject(spec)
	csiNode.OwnerReferences = nil
	if _, err := c.Client.StorageV1().CSINodes().Create(ctx, csiNode, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create CSINode %s: %w", spec.Name, err)
	}
	return nil
}

// startNode starts the node's processes. The node objects exist already.
func (c *Cluster) startNode(ctx context.Context, n *Node) error {
	var err error
	if n.proxy == nil {
		if n.proxy, err = newAPIProxy(n.Spec.Name, c.network, c.cp.upstreamsFor(n.Spec.Zone)); err != nil {
			return err
		}
		n.Kubeconfig = filepath.Join(c.Dir, "nodes", n.Spec.Name, "kubeconfig")
		if err := c.cp.pki.writeKubeconfig(n.Kubeconfig, "https://"+n.proxy.addr(), "admin"); err != nil {
			return err
		}
	}
	if err := c.drbd.AddNodeIfMissing(n.Spec.Name); err != nil {
		return err
	}
	if n.csi, err = csidriver.Start(n.CSISocket, csidriver.Options{NodeID: n.Spec.Name, Zone: n.Spec.Zone}); err != nil {
		return err
	}
	bin, err := toolPath(c.tools, toolKwok)
	if err != nil {
		return err
	}
	n.kwok, err = c.procs.start(c.Dir, "kwok-"+n.Spec.Name, bin, []string{
		"--kubeconfig=" + n.Kubeconfig,
		"--config=" + c.nodeStages,
		"--manage-single-node=" + n.Spec.Name,
		"--node-ip=127.0.0.1",
		"--node-lease-duration-seconds=" + strconv.Itoa(int(c.opts.NodeLeaseDuration/time.Second)),
	}, c.kubeletConnectionCheck().env())
	if err != nil {
		return err
	}
	client, err := clientFor(n.Kubeconfig, c.kubeletConnectionCheck())
	if err != nil {
		return err
	}
	n.kubelet = startKubelet(n.Spec.Name, client, c.drbd, c.logger)
	if c.opts.Sidecar != "" {
		if err := c.startSidecar(n); err != nil {
			return err
		}
	}
	n.up = true
	return nil
}

// startSidecar runs the sidecar container of the node's CSI node pod, as
// the kubelet would: its args, its environment and its service account
// from the pod spec, its credentials only from the volumes its container
// mounts (in-cluster configuration, no kubeconfig), the node's CSI
// endpoint and drbdsetup in place of the pod's host paths, and the node's
// API proxy as the API server. A node without such a pod runs no sidecar.
func (c *Cluster) startSidecar(n *Node) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pod, err := c.sidecarPod(ctx, n)
	if err != nil || pod == nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	httpAddr := "127.0.0.1:" + strconv.Itoa(port)
	pp, err := c.containerProcess(ctx, n, pod, sidecarContainer, map[string]string{
		"--csi-address":   n.CSISocket,
		"--drbdsetup":     n.Drbdsetup,
		"--http-endpoint": httpAddr,
	})
	if err != nil {
		return err
	}
	n.sidecarTokenDir = ""
	for _, m := range pp.mounts.Mounts {
		if m.Target == restconfig.ServiceAccountDir {
			n.sidecarTokenDir = m.Source
		}
	}
	if n.sidecarTokenDir != "" {
		if err := c.writeSidecarKubeconfig(n); err != nil {
			return err
		}
	}
	pp.args = append(pp.args, c.opts.SidecarArgs...)
	n.SidecarHTTP = httpAddr
	n.SidecarPod = pod.Name
	n.sidecar, err = pp.start(&c.procs, c.Dir, "sidecar-"+n.Spec.Name, c.opts.Sidecar)
	return err
}

// EventReporter returns the node whose sidecar recorded an Event, by its
// reportingInstance (the events library's controller-hostname), or "".
func (c *Cluster) EventReporter(reportingInstance string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		if n.SidecarPod != "" && reportingInstance == metadata.SidecarEventController+"-"+n.SidecarPod {
			return n.Spec.Name
		}
	}
	return ""
}

// SidecarPID returns the process id of the node's sidecar, 0 when none runs.
func (n *Node) SidecarPID() int {
	if n.sidecar == nil {
		return 0
	}
	return n.sidecar.cmd.Process.Pid
}

// StopSidecar kills a node's sidecar, as a crash of its container would.
func (c *Cluster) StopSidecar(name string) error {
	n, err := c.Node(name)
	if err != nil {
		return err
	}
	if n.sidecar != nil {
		n.sidecar.kill()
		n.sidecar = nil
	}
	return nil
}

// StartSidecar starts a node's sidecar again.
func (c *Cluster) StartSidecar(name string) error {
	n, err := c.Node(name)
	if err != nil {
		return err
	}
	if n.sidecar != nil || c.opts.Sidecar == "" {
		return fmt.Errorf("node %s: sidecar running or not configured", name)
	}
	return c.startSidecar(n)
}

// stopNode ends the node's processes at once, as a power loss would.
func (c *Cluster) stopNode(n *Node) {
	if n.sidecar != nil {
		n.sidecar.kill()
		n.sidecar = nil
	}
	if n.kubelet != nil {
		n.kubelet.stop()
		n.kubelet = nil
	}
	if n.kwok != nil {
		n.kwok.kill()
		n.kwok = nil
	}
	if n.csi != nil {
		n.csi.Stop()
		n.csi = nil
	}
	n.up = false
}

// connectionCheck is how soon the stand-ins of a node's kubelet (kwok and
// the kubelet stand-in) give up a connection to the API server that a
// partition left open.
type connectionCheck restconfig.HealthCheck

// kubeletConnectionCheck paces that check as a kubelet paces its own: it
// bounds each heartbeat by its renew interval (a quarter of the node
// lease, 10 s by default) and closes every connection when they keep
// failing. kwok does neither, so it gets client-go's HTTP/2 health check,
// pinging after that interval and giving up half of it later.
func (c *Cluster) kubeletConnectionCheck() connectionCheck {
	idle := max(c.opts.NodeLeaseDuration/4, 2*time.Second).Truncate(time.Second)
	return connectionCheck{ReadIdle: idle, PingTimeout: max(idle/2, time.Second).Truncate(time.Second)}
}

// env sets client-go's process-wide health check of a program that has no
// flag for it.
func (h connectionCheck) env() []string {
	return []string{
		"HTTP2_READ_IDLE_TIMEOUT_SECONDS=" + strconv.Itoa(int(h.ReadIdle/time.Second)),
		"HTTP2_PING_TIMEOUT_SECONDS=" + strconv.Itoa(int(h.PingTimeout/time.Second)),
	}
}

func clientFor(kubeconfig string, check connectionCheck) (kubernetes.Interface, error) {
	loaded, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("failed to load kubeconfig %s: %w", kubeconfig, err)
	}
	cfg, err := restconfig.WithHealthCheck(loaded, restconfig.HealthCheck(check))
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 100, 200
	cfg.Timeout = 30 * time.Second
	return kubernetes.NewForConfig(cfg)
}
