package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"

	"github.com/linstor-ha/linstor-ha/test/cluster"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// Namespace holds the chaos workloads.
const Namespace = "chaos"

// Options configure a run.
type Options struct {
	// FaultsPerTrial is how many faults a trial injects; default 4.
	FaultsPerTrial int
	// HealBound is how long the cluster gets to be back to normal after a
	// trial's faults heal; default 90 s.
	HealBound time.Duration
	// Logf receives the event log.
	Logf func(format string, args ...any)
	// EvidenceDir, when set, receives a directory per violating trial
	// with what explains it (see evidence).
	EvidenceDir string
}

// Runner runs trials on one cluster.
type Runner struct {
	c      *cluster.Cluster
	opts   Options
	vols   []cluster.Volume
	mon    *monitor
	stuck  *stuckPods
	leaks  *leakCheck
	Faults int
	// Restarts counts scheduler restarts after one exited.
	Restarts  int
	Log       []string
	stopWatch context.CancelFunc
}

// ClusterOptions are the options of a cluster for chaos runs: all three
// parts from the given binaries, an API server per room, DRBD detecting
// within about a second, a 2 s fail-over timeout and a 6 s node grace
// period, so that a trial takes seconds.
func ClusterOptions(sidecar, scheduler, webhook string) cluster.Options {
	return cluster.Options{
		APIServerPerRoom:       true,
		StockScheduler:         true,
		NodeMonitorGracePeriod: 6 * time.Second,
		NodeMonitorPeriod:      time.Second,
		NodeLeaseDuration:      8 * time.Second,
		DRBDDelays: &drbdsim.Delays{PingInt: time.Second, PingTimeout: 200 * time.Millisecond, Timeout: time.Second,
			Reconnect: 300 * time.Millisecond, Resync: 300 * time.Millisecond},
		Sidecar: sidecar, Scheduler: scheduler, Webhook: webhook,
		SidecarArgs: []string{"--fail-over-timeout=2s", "--untaint-after=1s", "--report-heartbeat=1s", "--report-stale-after=4s"},
	}
}

// NewRunner creates the workloads (three StatefulSets on volumes spread
// over both rooms, each with a tiebreaker) and starts watching.
func NewRunner(ctx context.Context, c *cluster.Cluster, opts Options) (*Runner, error) {
	if opts.FaultsPerTrial == 0 {
		opts.FaultsPerTrial = 4
	}
	if opts.HealBound == 0 {
		opts.HealBound = 90 * time.Second
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	r := &Runner{c: c, opts: opts}
	vols, err := c.RoomWorkloads(ctx, Namespace, "w", 3)
	if err != nil {
		return nil, err
	}
	r.vols = vols
	resources := make([]string, len(vols))
	claims := map[string]string{}
	for i, v := range vols {
		resources[i] = v.Resource()
		claims[v.Claim] = v.Resource()
	}
	wctx, cancel := context.WithCancel(ctx)
	r.stopWatch = cancel
	r.mon = newMonitor(c, resources)
	go r.mon.run(wctx, 25*time.Millisecond)
	factory := informers.NewSharedInformerFactoryWithOptions(c.Client, 0, informers.WithNamespace(Namespace))
	r.stuck = newStuckPods(r.mon, claims)
	if err := r.stuck.follow(factory); err != nil {
		cancel()
		return nil, err
	}
	go r.stuck.run(wctx, 500*time.Millisecond)
	if err := newDeletions(r.mon, claims).start(wctx, factory); err != nil {
		cancel()
		return nil, err
	}
	r.leaks = newLeakCheck(c)
	return r, nil
}

// Close stops watching.
func (r *Runner) Close() { r.stopWatch() }

// Trial runs one seeded trial: FaultsPerTrial faults at random moments,
// some healed on the way, the rest at the end; then it waits for the
// cluster to be back to normal. It returns the violations.
func (r *Runner) Trial(ctx context.Context, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 0x6c696e73746f72))
	in := &injector{c: r.c, rng: rng, crashed: map[string]bool{}, stuck: r.stuck}
	for _, n := range r.c.Nodes() {
		in.nodes = append(in.nodes, n.Spec.Name)
	}
	ev := startEvidence(r.c, r.opts.EvidenceDir)
	firstLine := len(r.Log)
	start := time.Now()
	logf := func(format string, args ...any) {
		line := fmt.Sprintf("seed %d %+7.2fs ", seed, time.Since(start).Seconds()) + fmt.Sprintf(format, args...)
		r.Log = append(r.Log, line)
		r.opts.Logf("%s", line)
	}
	var violations []string
	for i := 0; i < r.opts.FaultsPerTrial; i++ {
		f, err := in.inject(ctx)
		r.Faults++
		if err != nil {
			violations = append(violations, err.Error())
		}
		logf("fault: %s", f.name)
		// Long enough, often, for a fail-over to start (DRBD notices in
		// about a second, the sidecar waits 2 s more).
		if !sleep(ctx, time.Duration(1000+rng.IntN(5000))*time.Millisecond) {
			return append(violations, "stopped: "+ctx.Err().Error())
		}
		if rng.IntN(2) == 0 {
			if f, err := in.healOne(ctx); f != nil {
				logf("heal: %s (%v)", f.name, err)
			}
		}
	}
	for {
		f, err := in.healOne(ctx)
		if f == nil {
			break
		}
		logf("heal: %s (%v)", f.name, err)
		if err != nil {
			violations = append(violations, fmt.Sprintf("failed to heal %s: %v", f.name, err))
		}
	}
	healed := time.Now()
	problem := r.waitNormal(ctx, logf)
	if problem != "" {
		violations = append(violations, fmt.Sprintf("not back to normal %s after healing: %s", r.opts.HealBound, problem))
	} else {
		logf("back to normal %.1fs after healing", time.Since(healed).Seconds())
	}
	violations = append(violations, r.mon.takeViolations()...)
	violations = append(violations, r.leaks.check()...)
	for _, v := range violations {
		logf("VIOLATION: %s", v)
	}
	if len(violations) > 0 {
		if dir, err := ev.keep(ctx, seed, r.Log[firstLine:]); err != nil {
			logf("failed to keep the evidence: %v", err)
		} else if dir != "" {
			logf("evidence kept in %s", dir)
		}
	}
	return violations
}

// waitNormal waits until the cluster is back to normal, and returns what is
// not after the heal bound.
func (r *Runner) waitNormal(ctx context.Context, logf func(string, ...any)) string {
	deadline := time.Now().Add(r.opts.HealBound)
	problem := ""
	for time.Now().Before(deadline) {
		// kube-scheduler exits by design when it loses its lease or
		// finds its cache inconsistent, as after an API server restart;
		// the cluster starts it again, as the kubelet does.
		for _, why := range r.c.TakeSchedulerRestarts() {
			r.Restarts++
			logf("restarted: %s", firstLines(why, 3))
		}
		if problem = r.abnormal(ctx); problem == "" {
			return ""
		}
		if !sleep(ctx, 250*time.Millisecond) {
			return "stopped: " + ctx.Err().Error()
		}
	}
	return problem
}

// sleep waits for d, or less when ctx ends; it reports whether it waited.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// firstLines keeps the first n lines of s.
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], " | ")
}

// abnormal says what is not as it should be once every fault healed.
func (r *Runner) abnormal(ctx context.Context) string {
	if err := r.c.CheckRunning(); err != nil {
		return "a component crashed: " + strings.SplitN(err.Error(), "\n", 2)[0]
	}
	nodes, err := r.c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	for _, n := range nodes.Items {
		for _, t := range n.Spec.Taints {
			return fmt.Sprintf("%s still tainted %s", n.Name, t.Key)
		}
	}
	pods, err := r.c.Client.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			return fmt.Sprintf("%s still Terminating on %s", p.Name, p.Spec.NodeName)
		}
	}
	vas, err := r.c.Client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	for _, v := range r.vols {
		name := strings.TrimPrefix(v.Claim, "data-")
		pod, err := r.c.Client.CoreV1().Pods(Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return name + ": " + err.Error()
		}
		if pod.Status.Phase != "Running" || pod.Spec.NodeName == "" {
			return fmt.Sprintf("%s is %s on %q", name, pod.Status.Phase, pod.Spec.NodeName)
		}
		attachedHere := false
		for _, va := range vas.Items {
			if pv := va.Spec.Source.PersistentVolumeName; pv == nil || *pv != v.Resource() {
				continue
			}
			if va.Spec.NodeName != pod.Spec.NodeName {
				return fmt.Sprintf("%s has a VolumeAttachment on %s, its pod runs on %s", v.Resource(), va.Spec.NodeName, pod.Spec.NodeName)
			}
			attachedHere = va.Status.Attached
		}
		if !attachedHere {
			return fmt.Sprintf("%s is not attached to %s, where its pod runs", v.Resource(), pod.Spec.NodeName)
		}
	}
	return ""
}
