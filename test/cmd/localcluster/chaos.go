package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"k8s.io/klog/v2"

	"github.com/linstor-ha/linstor-ha/test/chaos"
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// runChaos runs seeded chaos trials on one cluster with all three parts and
// prints the totals; a run with violations prints them with the event log
// and fails.
func runChaos(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	trials := fs.Int("trials", 10, "trials to run")
	seed := fs.Uint64("seed", 1, "seed of the first trial; trial i uses seed+i")
	faults := fs.Int("faults", 4, "faults per trial")
	sidecar := fs.String("sidecar", "", "a built csi-sidecar binary (required)")
	scheduler := fs.String("scheduler", "", "a built cmd/scheduler binary (required)")
	webhook := fs.String("webhook", "", "a built cmd/webhook binary (required)")
	evidenceDir := fs.String("evidence-dir", "chaos-evidence", "where each violating trial's logs and object states are kept; empty keeps nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sidecar == "" || *scheduler == "" || *webhook == "" {
		return errors.New("chaos needs --sidecar, --scheduler and --webhook")
	}
	// The runner's own watches log every API server restart; its event
	// log says what matters. The in-process parts of the cluster (the
	// kubelets' stand-ins, every watch) log into the cluster's log
	// directory, so that a violating trial's evidence holds them.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	o := chaos.ClusterOptions(*sidecar, *scheduler, *webhook)
	o.Logf = logf
	c, err := cluster.Start(ctx, o)
	if err != nil {
		return err
	}
	defer c.Stop()
	if err := logInto(filepath.Join(c.Dir, "logs", "localcluster.log"), 2); err != nil {
		return err
	}
	defer klog.SetOutput(io.Discard)
	r, err := chaos.NewRunner(ctx, c, chaos.Options{FaultsPerTrial: *faults, Logf: logf, EvidenceDir: *evidenceDir})
	if err != nil {
		return err
	}
	defer r.Close()
	var violations []string
	done := 0
	for i := 0; i < *trials && ctx.Err() == nil; i++ {
		s := *seed + uint64(i)
		for _, v := range r.Trial(ctx, s) {
			violations = append(violations, fmt.Sprintf("seed %d: %s", s, v))
		}
		done++
		logf("chaos progress trials=%d faults=%d violations=%d scheduler-restarts=%d", done, r.Faults, len(violations), r.Restarts)
	}
	for _, v := range violations {
		fmt.Println("violation:", v)
	}
	fmt.Printf("chaos scheduler-restarts=%d (kube-scheduler, stock or linstor-ha's, exits by design on a lost lease or an inconsistent cache; the kubelet restarts it)\n", r.Restarts)
	fmt.Printf("chaos trials=%d faults=%d violations=%d\n", done, r.Faults, len(violations))
	if len(violations) > 0 {
		return fmt.Errorf("%d violations; rerun a seed with --seed <n> --trials 2 (the goroutine and memory check needs a second trial)", len(violations))
	}
	return nil
}

// logInto sends klog's output, at verbosity v, to the file path; the file
// stays open until the process exits.
func logInto(path string, v int) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("failed to open the log of the cluster's in-process parts: %w", err)
	}
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	// Every line once, whatever its severity.
	for name, value := range map[string]string{"v": strconv.Itoa(v), "one_output": "true"} {
		if err := fs.Set(name, value); err != nil {
			return err
		}
	}
	klog.SetOutput(f)
	return nil
}
