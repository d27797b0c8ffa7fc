package chaos

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// evidence keeps what explains a violating trial after the cluster is gone:
// the part of every process log written during the trial, and the
// VolumeAttachments, pods and nodes as they were when the trial ended. A
// liveness violation (a volume not attached again) is otherwise
// unexplainable once the run ends, since logs hold hundreds of trials.
type evidence struct {
	c   *cluster.Cluster
	dir string
	// offsets are the sizes of the logs when the trial started.
	offsets map[string]int64
}

// startEvidence notes where every log ends now; dir empty keeps nothing.
func startEvidence(c *cluster.Cluster, dir string) *evidence {
	e := &evidence{c: c, dir: dir, offsets: map[string]int64{}}
	if dir == "" {
		return e
	}
	logs, _ := c.Logs()
	for _, f := range logs {
		if st, err := os.Stat(f); err == nil {
			e.offsets[f] = st.Size()
		}
	}
	return e
}

// keep writes the trial's evidence into dir/seed-<seed> and returns that
// directory.
func (e *evidence) keep(ctx context.Context, seed uint64, trialLog []string) (string, error) {
	if e.dir == "" {
		return "", nil
	}
	out := filepath.Join(e.dir, fmt.Sprintf("seed-%d", seed))
	if err := os.MkdirAll(filepath.Join(out, "logs"), 0o755); err != nil {
		return "", err
	}
	logs, err := e.c.Logs()
	if err != nil {
		return "", err
	}
	for _, f := range logs {
		// A log that did not exist when the trial started (a restarted
		// process's) is kept whole.
		if err := copyFrom(f, e.offsets[f], filepath.Join(out, "logs", filepath.Base(f))); err != nil {
			return "", err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	state := e.state(ctx)
	if err := os.WriteFile(filepath.Join(out, "state.txt"), []byte(state), 0o644); err != nil {
		return "", err
	}
	return out, os.WriteFile(filepath.Join(out, "trial.log"), []byte(strings.Join(trialLog, "\n")+"\n"), 0o644)
}

// state describes the objects whose state a liveness violation is about.
func (e *evidence) state(ctx context.Context) string {
	var b strings.Builder
	vas, err := e.c.Client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(&b, "failed to list VolumeAttachments: %v\n", err)
	} else {
		b.WriteString("VolumeAttachments:\n")
		sort.Slice(vas.Items, func(i, j int) bool { return vas.Items[i].Name < vas.Items[j].Name })
		for _, va := range vas.Items {
			pv := ""
			if va.Spec.Source.PersistentVolumeName != nil {
				pv = *va.Spec.Source.PersistentVolumeName
			}
			fmt.Fprintf(&b, "  %s pv=%s node=%s attached=%t deleting=%t finalizers=%v created=%s",
				va.Name, pv, va.Spec.NodeName, va.Status.Attached, va.DeletionTimestamp != nil, va.Finalizers,
				va.CreationTimestamp.UTC().Format(time.RFC3339))
			if va.Status.AttachError != nil {
				fmt.Fprintf(&b, " attachError=%q", va.Status.AttachError.Message)
			}
			if va.Status.DetachError != nil {
				fmt.Fprintf(&b, " detachError=%q", va.Status.DetachError.Message)
			}
			b.WriteString("\n")
		}
	}
	pods, err := e.c.Client.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(&b, "failed to list pods: %v\n", err)
	} else {
		b.WriteString("Pods:\n")
		for _, p := range pods.Items {
			fmt.Fprintf(&b, "  %s node=%s phase=%s deleting=%t uid=%s\n",
				p.Name, p.Spec.NodeName, p.Status.Phase, p.DeletionTimestamp != nil, p.UID)
		}
	}
	nodes, err := e.c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(&b, "failed to list nodes: %v\n", err)
	} else {
		b.WriteString("Nodes:\n")
		for _, n := range nodes.Items {
			fmt.Fprintf(&b, "  %s taints=%v volumesInUse=%v volumesAttached=%v\n",
				n.Name, n.Spec.Taints, n.Status.VolumesInUse, n.Status.VolumesAttached)
		}
	}
	return b.String()
}

// copyFrom copies src from offset to its end into dst.
func copyFrom(src string, offset int64, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if st, err := in.Stat(); err == nil && st.Size() < offset {
		offset = 0 // rewritten since the trial started
	}
	if _, err := in.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
