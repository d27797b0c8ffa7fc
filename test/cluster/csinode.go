package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	daemonutil "k8s.io/kubernetes/pkg/controller/daemon/util"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// csiNodeDaemonSet is the LINSTOR CSI node DaemonSet's name, Piraeus'.
const csiNodeDaemonSet = "linstor-csi-node"

// sidecarPod returns node n's CSI node pod, whose sidecar container the
// node runs; nil when the node has none (Options.SidecarDaemonSet, before
// the DaemonSet exists or once its pods have no sidecar).
func (c *Cluster) sidecarPod(ctx context.Context, n *Node) (*corev1.Pod, error) {
	if c.opts.SidecarDaemonSet != "" {
		return c.podOfDaemonSet(ctx, c.sidecarNS, c.opts.SidecarDaemonSet, n, sidecarContainer)
	}
	return c.csiNodePod(ctx, n)
}

// csiNodePod returns node n's stand-in CSI node pod, creating it when it
// is missing as the DaemonSet controller and the scheduler would: from
// the Piraeus integration's pod template, bound to the node, with the
// tolerations the DaemonSet controller adds (so a dead node's pod stays,
// and so does its token).
func (c *Cluster) csiNodePod(ctx context.Context, n *Node) (*corev1.Pod, error) {
	pods := c.Client.CoreV1().Pods(c.sidecarNS)
	name := csiNodeDaemonSet + "-" + n.Spec.Name
	pod, err := pods.Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil && pod.DeletionTimestamp != nil:
		return nil, fmt.Errorf("CSI node pod %s/%s is being deleted", c.sidecarNS, name)
	case err == nil:
		return pod, nil
	case !apierrors.IsNotFound(err):
		return nil, err
	}
	tmpl, err := c.csiNodePodTemplate()
	if err != nil {
		return nil, err
	}
	pod = &corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}
	pod.Name, pod.Namespace = name, c.sidecarNS
	pod.Spec.NodeName = n.Spec.Name
	daemonutil.AddOrUpdateDaemonPodTolerations(&pod.Spec)
	return pods.Create(ctx, pod, metav1.CreateOptions{})
}

// csiNodePodTemplate is the pod template of a Piraeus CSI node DaemonSet
// as far as the sidecar sees it (the pod's account, no token for its
// containers, the CSI socket's directory) with the Piraeus integration's
// podTemplate merged in, as the operator merges spec.csiNode.podTemplate.
func (c *Cluster) csiNodePodTemplate() (*corev1.PodTemplateSpec, error) {
	base := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app.kubernetes.io/component": csiNodeDaemonSet}},
		Spec: corev1.PodSpec{
			ServiceAccountName:           c.sidecarSA,
			AutomountServiceAccountToken: ptr.To(false),
			Containers: []corev1.Container{{
				Name: "linstor-csi", Image: "linstor-csi",
				VolumeMounts: []corev1.VolumeMount{{Name: "plugin-dir", MountPath: "/csi"}},
			}},
			Volumes: []corev1.Volume{{Name: "plugin-dir", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
				Path: "/var/lib/kubelet/plugins/linstor.csi.linbit.com", Type: ptr.To(corev1.HostPathDirectoryOrCreate),
			}}}},
		},
	}
	patch, err := PiraeusPodTemplate()
	if err != nil {
		return nil, err
	}
	baseJSON, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	merged, err := strategicpatch.StrategicMergePatch(baseJSON, patch, corev1.PodTemplateSpec{})
	if err != nil {
		return nil, fmt.Errorf("failed to merge the Piraeus integration's podTemplate: %w", err)
	}
	var out corev1.PodTemplateSpec
	if err := json.Unmarshal(merged, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PiraeusPodTemplate returns, as JSON, the spec.csiNode.podTemplate that
// components/piraeus puts into a LinstorCluster.
func PiraeusPodTemplate() ([]byte, error) {
	file := filepath.Join(ManifestsDir(), "components", "piraeus", "linstorcluster-patch.yaml")
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var lc struct {
		Spec struct {
			CSINode struct {
				PodTemplate json.RawMessage `json:"podTemplate"`
			} `json:"csiNode"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &lc); err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", file, err)
	}
	if len(lc.Spec.CSINode.PodTemplate) == 0 {
		return nil, fmt.Errorf("%s has no spec.csiNode.podTemplate", file)
	}
	return lc.Spec.CSINode.PodTemplate, nil
}
