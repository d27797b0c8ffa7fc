package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/linstor-ha/linstor-ha/test/csidriver"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// Cluster is a running local cluster.
type Cluster struct {
	// Dir holds the cluster's files: certificates, kubeconfigs, logs.
	Dir string
	// Kubeconfig is the cluster-admin kubeconfig.
	Kubeconfig string
	// Client is a cluster-admin client.
	Client kubernetes.Interface
	// DRBD is the simulator behind every node's drbdsetup.
	DRBD *drbdsim.Cluster

	opts  Options
	tools string
	// nodeStages is the kwok Stages file of the nodes with a kubelet
	// stand-in (see writeNodeStages).
	nodeStages string
	logger     klog.Logger
	cp         *controlPlane
	// network carries the nodes' connections to the API servers, and
	// their cuts.
	network *apiNetwork
	drbd    *drbdBackend
	drbdSv  *drbdServer
	ctrl    *csidriver.Server
	attach  *process
	// linstorScheduler is linstor-ha's scheduler, when Options.Scheduler is set.
	linstorScheduler *process
	schedulerArgs    []string
	// schedMu guards both schedulers' processes, which the supervisor
	// replaces when they exit.
	schedMu    sync.Mutex
	supervisor *supervisor
	// bulkKwok serves the bulk nodes.
	bulkKwok *process
	// webhook is linstor-ha's webhook, when Options.Webhook is set.
	webhook     *process
	webhookPort int
	webhookArgs []string
	// WebhookCertDir holds the webhook's CA, certificate and key.
	WebhookCertDir string
	procs          processTable
	// sidecarNS and sidecarSA are the sidecars' service account.
	sidecarNS, sidecarSA string

	mu       sync.Mutex
	nodes    map[string]*Node
	stopOnce sync.Once
}

// Start brings a cluster up and returns when every node is Ready. On error
// everything started so far is stopped again.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	opts.complete()
	c := &Cluster{opts: opts, nodes: make(map[string]*Node), logger: klog.FromContext(ctx), network: newAPINetwork()}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	if c.Dir = opts.Dir; c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "linstor-ha-cluster-"); err != nil {
			return nil, err
		}
	}
	if c.tools = opts.Tools; c.tools == "" {
		if c.tools, err = EnsureTools(ctx, nil); err != nil {
			return nil, err
		}
	}
	if c.nodeStages, err = writeNodeStages(c.tools, c.Dir); err != nil {
		return nil, err
	}
	began := time.Now()
	c.cp = &controlPlane{dir: c.Dir, tools: c.tools, opts: &c.opts, procs: &c.procs}
	if err := c.cp.setup(); err != nil {
		return nil, err
	}
	c.Kubeconfig = c.cp.adminKubeconfig()
	if err := c.startSimulator(); err != nil {
		return nil, err
	}
	if err := c.cp.startEtcd(ctx); err != nil {
		return nil, err
	}
	if err := c.cp.startAPIServers(ctx); err != nil {
		return nil, err
	}
	if c.Client, err = c.cp.client(); err != nil {
		return nil, err
	}
	opts.Logf("control plane up after %s", time.Since(began).Round(10*time.Millisecond))
	if err := c.cp.startControllerManager(ctx); err != nil {
		return nil, err
	}
	if opts.StockScheduler {
		if err := c.cp.startScheduler(ctx, opts.SchedulerQPS); err != nil {
			return nil, err
		}
	}
	if err := c.installStorage(ctx); err != nil {
		return nil, err
	}
	if opts.Sidecar != "" || opts.Scheduler != "" || opts.Webhook != "" {
		if err := c.installCRDs(ctx); err != nil {
			return nil, err
		}
	}
	if opts.Scheduler != "" {
		if err := c.startLinstorScheduler(ctx); err != nil {
			return nil, err
		}
	}
	if opts.Webhook != "" {
		if err := c.startWebhook(ctx); err != nil {
			return nil, err
		}
	}
	c.superviseSchedulers()
	if opts.Sidecar != "" {
		if c.sidecarNS, c.sidecarSA, err = c.installSidecarRBAC(ctx); err != nil {
			return nil, err
		}
	}
	if err := c.startAttacher(ctx); err != nil {
		return nil, err
	}
	for _, spec := range opts.Nodes {
		if err := c.addNode(ctx, spec); err != nil {
			return nil, err
		}
	}
	if err := c.startBulkNodes(ctx); err != nil {
		return nil, err
	}
	if err := c.waitNodesReady(ctx); err != nil {
		return nil, err
	}
	// A component can pass its health check and die right after, for
	// instance on a controller it fails to initialise.
	if err := c.CheckRunning(); err != nil {
		return nil, err
	}
	opts.Logf("cluster with %d nodes ready after %s", len(opts.Nodes), time.Since(began).Round(10*time.Millisecond))
	return c, nil
}

func (c *Cluster) addNode(ctx context.Context, spec NodeSpec) error {
	if err := c.registerNode(ctx, spec); err != nil {
		return err
	}
	dir := filepath.Join(c.Dir, "nodes", spec.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	n := &Node{Spec: spec, CSISocket: filepath.Join(dir, "csi.sock")}
	var err error
	if n.Drbdsetup, err = c.drbdSv.wrapper(dir, spec.Name); err != nil {
		return err
	}
	c.mu.Lock()
	c.nodes[spec.Name] = n
	c.mu.Unlock()
	return c.startNode(ctx, n)
}

// Node returns the node called name.
func (c *Cluster) Node(name string) (*Node, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.nodes[name]
	if !ok {
		return nil, fmt.Errorf("no node %q in the cluster", name)
	}
	return n, nil
}

// Nodes returns the nodes, sorted by name.
func (c *Cluster) Nodes() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Node, 0, len(c.nodes))
	for _, n := range c.nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec.Name < out[j].Spec.Name })
	return out
}

// Stop stops everything the cluster started and removes its directory
// unless Options.KeepDir. It is safe to call more than once.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		c.stopSupervisor()
		for _, n := range c.Nodes() {
			c.stopNode(n)
			if n.proxy != nil {
				n.proxy.close()
			}
		}
		if c.attach != nil {
			c.attach.stop(5 * time.Second)
		}
		for _, p := range []*process{c.webhook, c.linstorScheduler, c.bulkKwok} {
			if p != nil {
				p.stop(5 * time.Second)
			}
		}
		if c.ctrl != nil {
			c.ctrl.Stop()
		}
		if c.cp != nil {
			c.cp.stop()
		}
		if c.drbdSv != nil {
			c.drbdSv.stop()
		}
		if c.DRBD != nil {
			c.DRBD.Close()
		}
		if !c.opts.KeepDir && c.opts.Dir == "" && c.Dir != "" {
			_ = os.RemoveAll(c.Dir)
		}
	})
}

// CheckRunning returns an error naming every process of the cluster that
// exited, with the end of its log.
func (c *Cluster) CheckRunning() error {
	c.schedMu.Lock()
	procs := c.cp.processes()
	for _, p := range []*process{c.attach, c.linstorScheduler, c.bulkKwok, c.webhook} {
		if p != nil {
			procs = append(procs, p)
		}
	}
	c.schedMu.Unlock()
	for _, n := range c.Nodes() {
		for _, p := range []*process{n.kwok, n.sidecar} {
			if p != nil {
				procs = append(procs, p)
			}
		}
	}
	var errs []error
	for _, p := range procs {
		if ok, err := p.exited(); ok {
			errs = append(errs, fmt.Errorf("%s exited (%v); its log ends:\n%s", p.name, err, p.logTail()))
		}
	}
	return errors.Join(errs...)
}

// PIDs returns the process ids of every process the cluster started.
func (c *Cluster) PIDs() []int { return c.procs.all() }

// Logs returns the log files of every process the cluster ran.
func (c *Cluster) Logs() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(c.Dir, "logs", "*.log"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("no logs")
	}
	return files, nil
}
