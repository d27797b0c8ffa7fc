package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/linstor-ha/linstor-ha/test/cluster"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// failoverFlags are what bench-failover and its scenarios share.
type failoverFlags struct {
	trials     int
	roomPods   int
	timeout    time.Duration
	stockBound time.Duration
	sidecar    string
	scheduler  string
	webhook    string
	keepDir    bool
	roomOnly   bool
	roomKCMQPS int
	// sidecarArgs are extra flags of every sidecar, such as -v=6 to log
	// each API request.
	sidecarArgs string
	// drbd names the DRBD network timings: "default" or "tuned".
	drbd string
}

// tunedDRBD is what an operator can set through LINSTOR's DRBD options
// (DrbdOptions/Net/ping-int 1, DrbdOptions/Net/ping-timeout 5 and
// DrbdOptions/Net/timeout 9, the last two in tenths of a second; DRBD wants
// timeout below ping-int): an idle connection notices a lost peer after
// 1.5 s instead of 10.5 s, one under I/O after 0.9 s instead of 6 s.
func tunedDRBD() *drbdsim.Delays {
	d := drbdsim.DefaultDelays()
	d.PingInt, d.PingTimeout, d.Timeout = time.Second, 500*time.Millisecond, 900*time.Millisecond
	return &d
}

// tunedTimeout is the fail-over timeout that goes with tunedDRBD unless
// --fail-over-timeout says otherwise: an operator who has DRBD notice a
// lost peer within 1.5 s rides out blips of about as long, not 5 s.
const tunedTimeout = time.Second

// runBenchFailover measures linstor-ha's fail-over on the local cluster, all
// three parts deployed as the manifests deploy them and DRBD's default
// detection delays: repeated crashes of the node under a stateful pod, then
// the loss of a whole room, then stock Kubernetes on the node crash.
func runBenchFailover(ctx context.Context, args []string) error {
	var f failoverFlags
	fs := flag.NewFlagSet("bench-failover", flag.ContinueOnError)
	fs.IntVar(&f.trials, "trials", 10, "node-crash trials")
	fs.IntVar(&f.roomPods, "room-pods", 100, "stateful pods of the room that is lost; 0 skips that scenario")
	fs.DurationVar(&f.timeout, "fail-over-timeout", 5*time.Second, "the sidecar's --fail-over-timeout, as in the manifests")
	fs.DurationVar(&f.stockBound, "stock-bound", 10*time.Minute, "how long stock Kubernetes gets before it counts as never; 0 skips it")
	fs.StringVar(&f.sidecar, "sidecar", "", "a built csi-sidecar binary (required)")
	fs.StringVar(&f.scheduler, "scheduler", "", "a built cmd/scheduler binary (required)")
	fs.StringVar(&f.webhook, "webhook", "", "a built cmd/webhook binary (required)")
	fs.IntVar(&f.roomKCMQPS, "room-controller-manager-qps", 100, "kube-controller-manager's --kube-api-qps in the room scenario (0: its default of 20); its attach-detach controller makes several calls per moved volume")
	fs.StringVar(&f.drbd, "drbd", "default", "DRBD's network timings: default (ping-int 10 s, ping-timeout 0.5 s, timeout 6 s) or tuned (ping-int 1 s, ping-timeout 0.5 s, timeout 0.9 s, and a fail-over timeout of 1 s unless --fail-over-timeout is given)")
	fs.BoolVar(&f.roomOnly, "room-only", false, "run only the lost room scenarios (one and two API servers)")
	fs.BoolVar(&f.keepDir, "keep-dir", false, "keep each cluster's directory (logs) and print where it is")
	fs.StringVar(&f.sidecarArgs, "sidecar-args", "", "extra flags of every sidecar, separated by spaces (-v=6 logs each API request)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.drbd != "default" && f.drbd != "tuned" {
		return fmt.Errorf("--drbd=%q: want default or tuned", f.drbd)
	}
	if f.drbd == "tuned" && !flagSet(fs, "fail-over-timeout") {
		f.timeout = tunedTimeout
	}
	if f.sidecar == "" || f.scheduler == "" || f.webhook == "" {
		return errors.New("bench-failover needs --sidecar, --scheduler and --webhook")
	}
	if f.trials < 1 {
		return errors.New("--trials must be at least 1")
	}
	if f.roomOnly {
		for _, perRoom := range []bool{false, true} {
			if err := roomLoss(ctx, f, perRoom); err != nil {
				return err
			}
		}
		return nil
	}
	single, err := singleNodeTrials(ctx, f)
	if err != nil {
		return err
	}
	if f.roomPods > 0 {
		for _, perRoom := range []bool{false, true} {
			if err := roomLoss(ctx, f, perRoom); err != nil {
				return err
			}
		}
	}
	stock := "not-run"
	if f.stockBound > 0 {
		took, ok, err := stockTrial(ctx, f.stockBound, logf)
		if err != nil {
			return err
		}
		stock = "never"
		if ok {
			stock = fmt.Sprintf("%.1f", took.Seconds())
		}
	}
	total, detection, afterDetection := single.crash.series()
	fmt.Printf("failover_after_detection_seconds p50=%.1f p90=%.1f max=%.1f\n",
		percentile(afterDetection, 50), percentile(afterDetection, 90), slices.Max(afterDetection))
	fmt.Printf("failover_seconds p50=%.1f p90=%.1f max=%.1f detection_p50=%.1f timeout=%.1f stock_p50=%s trials=%d drbd=%s\n",
		percentile(total, 50), percentile(total, 90), slices.Max(total), percentile(detection, 50),
		f.timeout.Seconds(), stock, len(total), f.drbd)
	splitTotal, splitDetection, _ := single.split.series()
	fmt.Printf("split_failover_seconds p50=%.1f max=%.1f detection_p50=%.1f timeout=%.1f trials=%d\n",
		percentile(splitTotal, 50), slices.Max(splitTotal), percentile(splitDetection, 50), f.timeout.Seconds(), len(splitTotal))
	fmt.Printf("flap_trials=%d deletions=%d taints=%d\n", single.flaps.Flaps, single.flaps.Deletions, single.flaps.Taints)
	return nil
}

// flagSet reports whether the command line gave the flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// logf prints progress with the time of day to stderr, keeping stdout for
// results.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// trial is one node crash: when DRBD noticed and when the replacement ran,
// both from the crash.
type trial struct {
	detected, running time.Duration
}

type trials []trial

// series returns crash→Running, crash→detection and detection→Running.
func (ts trials) series() (total, detection, afterDetection []float64) {
	for _, t := range ts {
		total = append(total, t.running.Seconds())
		detection = append(detection, t.detected.Seconds())
		afterDetection = append(afterDetection, (t.running - t.detected).Seconds())
	}
	return total, detection, afterDetection
}

// percentile is the nearest-rank percentile p of xs.
func percentile(xs []float64, p int) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100
	return s[max(rank, 1)-1]
}

// withComponents are the cluster options of a linstor-ha deployment as the
// manifests make it: webhook, scheduler and a sidecar per node.
func withComponents(f failoverFlags, o cluster.Options) cluster.Options {
	o.Sidecar, o.Scheduler, o.Webhook = f.sidecar, f.scheduler, f.webhook
	o.SidecarArgs = append(o.SidecarArgs, "--fail-over-timeout="+f.timeout.String())
	o.SidecarArgs = append(o.SidecarArgs, strings.Fields(f.sidecarArgs)...)
	o.StockScheduler = true
	o.KeepDir = f.keepDir
	o.Logf = logf
	if f.drbd == "tuned" {
		o.DRBDDelays = tunedDRBD()
	}
	return o
}

// started says where a kept cluster's directory is.
func started(f failoverFlags, c *cluster.Cluster) {
	if f.keepDir {
		logf("cluster directory (kept): %s", c.Dir)
	}
}

// singleNodeResults are the figures of the scenarios around pg-0.
type singleNodeResults struct {
	crash, split trials
	flaps        cluster.FlapResult
}

// singleNodeTrials runs, on one cluster, the scenarios around one
// StatefulSet pod: node crashes, replication splits that leave the pod's
// node alive in the minority, and link flaps that must move nothing.
func singleNodeTrials(ctx context.Context, f failoverFlags) (singleNodeResults, error) {
	var res singleNodeResults
	c, err := cluster.Start(ctx, withComponents(f, cluster.Options{}))
	if err != nil {
		return res, err
	}
	defer c.Stop()
	started(f, c)
	vol, current, err := statefulPod(ctx, c)
	if err != nil {
		return res, err
	}
	if res.crash, current, err = repeatTrials(ctx, c, f, vol, current, "crash", c.CrashNode, func(node string) error { return c.RestartNode(ctx, node) }); err != nil {
		return res, err
	}
	split := func(node string) error { return c.SplitReplication([]string{node}, c.NodeNamesBut(node)) }
	heal := func(string) error { return c.HealReplication() }
	if res.split, current, err = repeatTrials(ctx, c, f, vol, current, "split", split, heal); err != nil {
		return res, err
	}
	logf("flapping the replication link of %s ten times for %v each", current.Node, f.timeout*8/10)
	res.flaps, err = c.LinkFlaps(ctx, current.Node, otherDiskful(vol, current.Node), vol.Resource(), vol.Namespace, "pg-0", current.UID, 10, f.timeout*8/10)
	return res, err
}

// repeatTrials breaks the node under pg-0 with fault, f.trials times, and
// measures from the fault to DRBD's detection on the other diskful node and
// to the replacement Running with its volume attached; after each trial it
// undoes the fault and waits for DRBD and the taints to heal.
func repeatTrials(ctx context.Context, c *cluster.Cluster, f failoverFlags, vol cluster.Volume, current cluster.Placement,
	what string, fault, undo func(node string) error) (trials, cluster.Placement, error) {
	var out trials
	for i := 1; i <= f.trials; i++ {
		node := current.Node
		survivor := otherDiskful(vol, node)
		broken := time.Now()
		if err := fault(node); err != nil {
			return nil, current, err
		}
		detected, err := waitDetected(ctx, c, survivor, node, vol.Resource())
		if err != nil {
			return nil, current, fmt.Errorf("%s trial %d: %w", what, i, err)
		}
		rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		next, err := c.WaitRunningAttached(rctx, vol.Namespace, "pg-0", vol.Resource(), current.UID)
		cancel()
		if err != nil {
			return nil, current, fmt.Errorf("%s trial %d: no replacement for pg-0 after the %s of %s: %w", what, i, what, node, err)
		}
		t := trial{detected: detected.Sub(broken), running: time.Since(broken)}
		out = append(out, t)
		fmt.Printf("%s trial %2d: %s %s; DRBD on %s noticed +%.1fs; replacement Running on %s with its volume attached +%.1fs (%.1fs after detection)\n",
			what, i, what, node, survivor, t.detected.Seconds(), next.Node, t.running.Seconds(), (t.running - t.detected).Seconds())
		if err := undo(node); err != nil {
			return nil, current, err
		}
		if err := waitHealed(ctx, c, vol); err != nil {
			return nil, current, fmt.Errorf("%s trial %d: %w", what, i, err)
		}
		current = next
	}
	return out, current, nil
}

// otherDiskful is the volume's diskful node other than node.
func otherDiskful(vol cluster.Volume, node string) string {
	for _, n := range vol.Diskful {
		if n != node {
			return n
		}
	}
	return ""
}

// waitDetected waits until DRBD on survivor shows its connection to lost
// down, and returns when it first saw that.
func waitDetected(ctx context.Context, c *cluster.Cluster, survivor, lost, resource string) (time.Time, error) {
	var at time.Time
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		v, ok := c.DRBD.View(survivor, resource)
		if !ok {
			return false, nil
		}
		if p := v.Connection(lost); p != nil && !p.Connected() {
			at = time.Now()
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return at, fmt.Errorf("DRBD on %s never noticed that %s is gone: %w", survivor, lost, err)
	}
	return at, nil
}

// waitHealed waits until every replica of vol is connected and UpToDate
// again and no node carries a taint, so that the next trial starts from a
// healthy cluster.
func waitHealed(ctx context.Context, c *cluster.Cluster, vol cluster.Volume) error {
	var why string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		why = healthProblem(ctx, c, vol)
		return why == "", nil
	})
	if err != nil {
		return fmt.Errorf("the cluster did not heal: %s: %w", why, err)
	}
	return nil
}
