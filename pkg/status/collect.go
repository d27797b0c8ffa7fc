package status

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
)

// ReportLister lists replica reports; a reportclient.Client is one.
type ReportLister interface {
	List(ctx context.Context, opts metav1.ListOptions) (*v1alpha1.ReplicaReportList, error)
}

// Clients are what Collect reads the cluster through.
type Clients struct {
	Core    corev1client.CoreV1Interface
	Reports ReportLister
}

// pageSize bounds one list call, so that a large cluster is read in
// pieces, each within the deadline.
const pageSize = 500

// Collect reads the replica reports, the PersistentVolumes and the pods
// (of namespace, or of all namespaces when it is ""). Every call gets its
// own deadline of timeout.
func Collect(ctx context.Context, c Clients, namespace string, timeout time.Duration) (Inputs, error) {
	var in Inputs
	err := pages(ctx, timeout, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
		list, err := c.Reports.List(ctx, opts)
		if err != nil {
			return "", explain(err, "replicareports.linstor-ha.io")
		}
		in.Reports = append(in.Reports, list.Items...)
		return list.Continue, nil
	})
	if err != nil {
		return Inputs{}, err
	}
	err = pages(ctx, timeout, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
		list, err := c.Core.PersistentVolumes().List(ctx, opts)
		if err != nil {
			return "", explain(err, "persistentvolumes")
		}
		in.Volumes = append(in.Volumes, list.Items...)
		return list.Continue, nil
	})
	if err != nil {
		return Inputs{}, err
	}
	err = pages(ctx, timeout, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
		list, err := c.Core.Pods(namespace).List(ctx, opts)
		if err != nil {
			return "", explain(err, "pods")
		}
		in.Pods = append(in.Pods, podsWithVolumes(list.Items)...)
		return list.Continue, nil
	})
	if err != nil {
		return Inputs{}, err
	}
	return in, nil
}

// pages calls list for each page until the last, each call with its own
// deadline.
func pages(ctx context.Context, timeout time.Duration, list func(ctx context.Context, opts metav1.ListOptions) (string, error)) error {
	opts := metav1.ListOptions{Limit: pageSize}
	for {
		callCtx, cancel := context.WithTimeout(ctx, timeout)
		next, err := list(callCtx, opts)
		cancel()
		if err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		opts.Continue = next
	}
}

// podsWithVolumes keeps only the pods that mount a claim, directly or
// through an ephemeral volume: the others cannot use a DRBD volume, and a
// large cluster has many of them.
func podsWithVolumes(pods []corev1.Pod) []corev1.Pod {
	var out []corev1.Pod
	for i := range pods {
		for _, v := range pods[i].Spec.Volumes {
			if v.PersistentVolumeClaim != nil || v.Ephemeral != nil {
				out = append(out, pods[i])
				break
			}
		}
	}
	return out
}

// explain turns a failed list into an error that says what to do.
func explain(err error, resource string) error {
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("failed to list %s: %w; the account in use needs list on replicareports.linstor-ha.io, persistentvolumes and pods", resource, err)
	case apierrors.IsNotFound(err) && resource == "replicareports.linstor-ha.io":
		return fmt.Errorf("failed to list %s: %w; is the ReplicaReport CRD (manifests/crd) installed and the sidecar running?", resource, err)
	case apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("failed to list %s in time: %w; raise --request-timeout or check the API server", resource, err)
	}
	return fmt.Errorf("failed to list %s: %w", resource, err)
}
