package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/linstor-ha/linstor-ha/pkg/restconfig"
)

// A sidecar runs as its container in a CSI node pod would: with that
// container's args and environment, with the pod's service account, and
// with no credentials but those its container spec mounts. The harness
// materialises the pod's projected volumes (a TokenRequest bound to the
// pod, ConfigMap keys, downward API fields) into the node's directory and
// starts the sidecar in a private mount namespace in which each of them is
// bind-mounted at its mountPath, so that rest.InClusterConfig reads the
// token at the standard path, and the API server comes from
// KUBERNETES_SERVICE_HOST and _PORT: the node's own way to the API server.

// sidecarContainer is the sidecar's container in the CSI node pods.
const sidecarContainer = "linstor-ha-sidecar"

// podMountsEnv hands a podMounts to the harness binary that the harness
// runs in a new mount namespace (see init); the variable is removed before
// the container's program starts.
const podMountsEnv = "LINSTOR_HA_TEST_POD_MOUNTS"

// podMounts are the bind mounts of one container, and the hostname it
// sees.
type podMounts struct {
	// Staging holds the upper and work directories of the overlays that
	// make missing mount points.
	Staging string     `json:"staging"`
	Mounts  []podMount `json:"mounts"`
	// Hostname is the container's hostname: a pod's name, as the kubelet
	// gives it to a pod without hostNetwork (its own UTS namespace). What
	// names the pod in its Events' reportingInstance comes from it.
	Hostname string `json:"hostname,omitempty"`
}

type podMount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly"`
}

// init turns a binary that imports this package into the mount helper of
// the containers the harness starts: with podMountsEnv set it enters a
// mount namespace of its own, mounts the container's volumes and execs the
// container's program (os.Args[1:]). Nothing else of the binary runs.
func init() {
	raw, ok := os.LookupEnv(podMountsEnv)
	if !ok {
		return
	}
	err := enterPodMounts(raw)
	fmt.Fprintf(os.Stderr, "Failed to start the container in its own mount namespace: %v\n", err)
	os.Exit(126)
}

// enterPodMounts returns only on error.
func enterPodMounts(raw string) error {
	var m podMounts
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return fmt.Errorf("bad %s: %w", podMountsEnv, err)
	}
	if len(os.Args) < 2 {
		return errors.New("no program to run")
	}
	// A new mount namespace belongs to the calling thread until it execs;
	// this thread is the one that execs.
	runtime.LockOSThread()
	if err := syscall.Unshare(syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWNS|CLONE_NEWUTS) (the harness runs as root to give each sidecar its own mounts and hostname): %w", err)
	}
	if m.Hostname != "" {
		if err := syscall.Sethostname([]byte(m.Hostname)); err != nil {
			return fmt.Errorf("failed to set the hostname %s: %w", m.Hostname, err)
		}
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("failed to make the mounts private: %w", err)
	}
	for i, mnt := range m.Mounts {
		if err := makeMountPoint(mnt.Target, filepath.Join(m.Staging, strconv.Itoa(i))); err != nil {
			return err
		}
		if err := syscall.Mount(mnt.Source, mnt.Target, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("failed to mount %s at %s: %w", mnt.Source, mnt.Target, err)
		}
		if mnt.ReadOnly {
			if err := syscall.Mount("", mnt.Target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
				return fmt.Errorf("failed to make %s read-only: %w", mnt.Target, err)
			}
		}
	}
	if err := os.Unsetenv(podMountsEnv); err != nil {
		return err
	}
	return syscall.Exec(os.Args[1], os.Args[1:], os.Environ())
}

// makeMountPoint makes the directory target in this mount namespace only.
// A missing one is created in an overlay over its deepest existing
// ancestor, so the host's directory stays as it is; mounts below that
// ancestor are not visible through the overlay, which no sidecar needs.
func makeMountPoint(target, staging string) error {
	if fi, err := os.Stat(target); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("mount point %s is not a directory", target)
		}
		return nil
	}
	dir := filepath.Dir(target)
	for {
		if _, err := os.Stat(dir); err == nil {
			break
		}
		dir = filepath.Dir(dir)
	}
	lower, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	if lower == "/" {
		return fmt.Errorf("refusing to lay an overlay over / for %s", target)
	}
	upper, work := filepath.Join(staging, "upper"), filepath.Join(staging, "work")
	for _, d := range []string{upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := syscall.Mount("overlay", lower, "overlay", 0, "lowerdir="+lower+",upperdir="+upper+",workdir="+work); err != nil {
		return fmt.Errorf("failed to lay an overlay over %s for %s: %w", lower, target, err)
	}
	return os.MkdirAll(target, 0o755)
}

// podProcess is how the harness runs one container: its program's args,
// its environment and its mounts.
type podProcess struct {
	args   []string
	env    []string
	mounts podMounts
}

// start starts the container's program bin, in mount and UTS namespaces
// of its own when it mounts anything or has a hostname.
func (pp *podProcess) start(t *processTable, dir, name, bin string) (*process, error) {
	if len(pp.mounts.Mounts) == 0 && pp.mounts.Hostname == "" {
		return t.start(dir, name, bin, pp.args, pp.env)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(pp.mounts)
	if err != nil {
		return nil, err
	}
	return t.start(dir, name, self, append([]string{bin}, pp.args...), append(pp.env, podMountsEnv+"="+string(raw)))
}

// containerProcess prepares container name of pod, on node n, as the
// kubelet would start it: args with $(VAR) references expanded and with
// the flags in hostFlags (paths and addresses of this host, which a pod
// has at fixed places; --flag=value in the args, added when missing) set
// to their values here; the environment of the
// container spec, and KUBERNETES_SERVICE_HOST/_PORT pointing at the node's
// way to the API server; the pod's projected volumes that the container
// mounts, written into the node's directory.
func (c *Cluster) containerProcess(ctx context.Context, n *Node, pod *corev1.Pod, name string, hostFlags map[string]string) (*podProcess, error) {
	var ctr *corev1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			ctr = &pod.Spec.Containers[i]
		}
	}
	if ctr == nil {
		return nil, fmt.Errorf("pod %s/%s has no container %s", pod.Namespace, pod.Name, name)
	}
	env := map[string]string{}
	var envList []string
	for _, e := range ctr.Env {
		v, err := envValue(pod, e, env)
		if err != nil {
			return nil, fmt.Errorf("container %s of pod %s/%s: %w", name, pod.Namespace, pod.Name, err)
		}
		env[e.Name] = v
		envList = append(envList, e.Name+"="+v)
	}
	host, port, err := net.SplitHostPort(n.proxy.addr())
	if err != nil {
		return nil, err
	}
	// The kubelet sets these in every container, enableServiceLinks or not.
	envList = append(envList, "KUBERNETES_SERVICE_HOST="+host, "KUBERNETES_SERVICE_PORT="+port)

	// A fresh staging directory each time: the overlay of the container's
	// previous run may still be going away with its last process.
	mountsDir := filepath.Join(c.Dir, "nodes", n.Spec.Name, "mounts")
	if err := os.MkdirAll(mountsDir, 0o755); err != nil {
		return nil, err
	}
	staging, err := os.MkdirTemp(mountsDir, name+"-")
	if err != nil {
		return nil, err
	}
	hostname := pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	if pod.Spec.HostNetwork {
		hostname = ""
	}
	pp := &podProcess{env: envList, mounts: podMounts{Staging: staging, Hostname: hostname}}
	seen := map[string]bool{}
	for _, arg := range ctr.Args {
		arg = expandEnvRefs(arg, env)
		flagName, _, _ := strings.Cut(arg, "=")
		if v, ok := hostFlags[flagName]; ok {
			arg = flagName + "=" + v
			seen[flagName] = true
		}
		pp.args = append(pp.args, arg)
	}
	for _, f := range slices.Sorted(maps.Keys(hostFlags)) {
		if !seen[f] {
			pp.args = append(pp.args, f+"="+hostFlags[f])
		}
	}

	mounts := ctr.VolumeMounts
	if (pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken) && !mountsAt(mounts, restconfig.ServiceAccountDir) {
		// The ServiceAccount admission plugin would have added this volume.
		pod = pod.DeepCopy()
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: tokenProjection()}})
		mounts = append(mounts, corev1.VolumeMount{Name: "kube-api-access", MountPath: restconfig.ServiceAccountDir, ReadOnly: true})
	}
	for _, vm := range mounts {
		vol := podVolume(pod, vm.Name)
		switch {
		case vol == nil:
			return nil, fmt.Errorf("container %s mounts %s, which pod %s/%s lacks", name, vm.Name, pod.Namespace, pod.Name)
		case vol.HostPath != nil:
			// Host directories are this host's own files, which hostFlags
			// point at.
			continue
		case vol.Projected != nil:
			dir := filepath.Join(c.Dir, "nodes", n.Spec.Name, "volumes", name, vm.Name)
			if err := c.writeProjected(ctx, dir, pod, vol.Projected); err != nil {
				return nil, fmt.Errorf("volume %s of pod %s/%s: %w", vm.Name, pod.Namespace, pod.Name, err)
			}
			pp.mounts.Mounts = append(pp.mounts.Mounts, podMount{Source: dir, Target: vm.MountPath, ReadOnly: vm.ReadOnly})
		default:
			return nil, fmt.Errorf("container %s mounts volume %s of a kind the harness does not provide", name, vm.Name)
		}
	}
	return pp, nil
}

// envValue resolves an environment variable of a container spec; a value
// may refer to the variables before it.
func envValue(pod *corev1.Pod, e corev1.EnvVar, before map[string]string) (string, error) {
	if e.ValueFrom == nil {
		return expandEnvRefs(e.Value, before), nil
	}
	if e.ValueFrom.FieldRef == nil {
		return "", fmt.Errorf("env %s: only values and field references are provided", e.Name)
	}
	v, err := podField(pod, e.ValueFrom.FieldRef.FieldPath)
	if err != nil {
		return "", fmt.Errorf("env %s: %w", e.Name, err)
	}
	return v, nil
}

// podField is a downward API field of the pod.
func podField(pod *corev1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	}
	return "", fmt.Errorf("field %s is not provided", path)
}

// expandEnvRefs expands $(NAME) references to defined variables, as the
// kubelet does in args; $$ stands for $.
func expandEnvRefs(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "$$"):
			b.WriteByte('$')
			i++
		case strings.HasPrefix(s[i:], "$("):
			if end := strings.IndexByte(s[i:], ')'); end > 0 {
				if v, ok := env[s[i+2:i+end]]; ok {
					b.WriteString(v)
					i += end
					continue
				}
			}
			b.WriteByte(s[i])
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func mountsAt(mounts []corev1.VolumeMount, path string) bool {
	for _, m := range mounts {
		if filepath.Clean(m.MountPath) == path {
			return true
		}
	}
	return false
}

func podVolume(pod *corev1.Pod, name string) *corev1.Volume {
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == name {
			return &pod.Spec.Volumes[i]
		}
	}
	return nil
}

// tokenProjection is the volume the ServiceAccount admission plugin gives
// every container of a pod that automounts its token.
func tokenProjection() *corev1.ProjectedVolumeSource {
	return &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
		{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}},
		{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
		{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
	}}
}

// writeProjected writes a projected volume of pod into dir, as the kubelet
// would: a token of the pod's service account bound to the pod, ConfigMap
// keys and downward API fields.
func (c *Cluster) writeProjected(ctx context.Context, dir string, pod *corev1.Pod, proj *corev1.ProjectedVolumeSource) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{}
	for _, src := range proj.Sources {
		switch {
		case src.ServiceAccountToken != nil:
			tok, err := c.podToken(ctx, pod, src.ServiceAccountToken)
			if err != nil {
				return err
			}
			files[src.ServiceAccountToken.Path] = []byte(tok)
		case src.ConfigMap != nil:
			cm, err := c.waitConfigMap(ctx, pod.Namespace, src.ConfigMap.Name)
			if err != nil {
				return err
			}
			items := src.ConfigMap.Items
			if len(items) == 0 {
				for k := range cm.Data {
					items = append(items, corev1.KeyToPath{Key: k, Path: k})
				}
			}
			for _, it := range items {
				v, ok := cm.Data[it.Key]
				if !ok {
					return fmt.Errorf("ConfigMap %s/%s has no key %s", pod.Namespace, cm.Name, it.Key)
				}
				files[it.Path] = []byte(v)
			}
		case src.DownwardAPI != nil:
			for _, it := range src.DownwardAPI.Items {
				if it.FieldRef == nil {
					return fmt.Errorf("downward API file %s: only field references are provided", it.Path)
				}
				v, err := podField(pod, it.FieldRef.FieldPath)
				if err != nil {
					return err
				}
				files[it.Path] = []byte(v)
			}
		default:
			return errors.New("a projection of a kind the harness does not provide")
		}
	}
	for p, b := range files {
		path := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// podToken requests a token of the pod's service account bound to the
// pod, as the kubelet does for a projected token: the API server puts the
// pod's node into it, which the report policy checks.
func (c *Cluster) podToken(ctx context.Context, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) (string, error) {
	account := pod.Spec.ServiceAccountName
	if account == "" {
		account = "default"
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: src.ExpirationSeconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if req.Spec.ExpirationSeconds == nil {
		req.Spec.ExpirationSeconds = ptr.To[int64](3600)
	}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	tr, err := c.Client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, account, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("failed to request a token of %s/%s bound to pod %s: %w", pod.Namespace, account, pod.Name, err)
	}
	return tr.Status.Token, nil
}

// waitConfigMap returns a ConfigMap, waiting for it a while: the
// controller manager publishes kube-root-ca.crt into a new namespace
// shortly after the namespace appears.
func (c *Cluster) waitConfigMap(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
	var cm *corev1.ConfigMap
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		cm, err = c.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		return nil, fmt.Errorf("no ConfigMap %s/%s: %w", ns, name, err)
	}
	return cm, nil
}

// StartSidecars starts the sidecar of every running node that has none,
// from the node's CSI node pod; with Options.SidecarDaemonSet, call it once
// the test applied that DaemonSet.
func (c *Cluster) StartSidecars(ctx context.Context) error {
	if c.opts.Sidecar == "" {
		return errors.New("no sidecar configured")
	}
	var errs []error
	for _, n := range c.Nodes() {
		if n.up && n.sidecar == nil {
			errs = append(errs, c.startSidecar(n))
		}
	}
	return errors.Join(errs...)
}

// SidecarNamespace is the namespace of the CSI node pods the sidecars run
// in, and of their Leases.
func (c *Cluster) SidecarNamespace() string { return c.sidecarNS }

// SidecarTokenFile is the service account token of a node's sidecar, as
// its container sees it in restconfig.ServiceAccountDir; empty when the
// node's sidecar has none.
func (c *Cluster) SidecarTokenFile(node string) string {
	n, err := c.Node(node)
	if err != nil || n.sidecarTokenDir == "" {
		return ""
	}
	return filepath.Join(n.sidecarTokenDir, "token")
}

// podOfDaemonSet waits for the pod of a DaemonSet on node n, scheduled
// there and not being deleted; nil when the DaemonSet does not exist or its
// pods have no container named ctr.
func (c *Cluster) podOfDaemonSet(ctx context.Context, ns, name string, n *Node, ctr string) (*corev1.Pod, error) {
	ds, err := c.Client.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !hasContainer(ds.Spec.Template.Spec, ctr) {
		return nil, nil
	}
	selector, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil, err
	}
	var found *corev1.Pod
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
		if err != nil {
			return false, nil
		}
		for i := range list.Items {
			p := &list.Items[i]
			if p.Spec.NodeName == n.Spec.Name && p.DeletionTimestamp == nil && metav1.IsControlledBy(p, ds) && hasContainer(p.Spec, ctr) {
				found = p
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("no pod of DaemonSet %s/%s with container %s on node %s (a scheduler must place DaemonSet pods): %w", ns, name, ctr, n.Spec.Name, err)
	}
	return found, nil
}

func hasContainer(spec corev1.PodSpec, name string) bool {
	for _, ctr := range spec.Containers {
		if ctr.Name == name {
			return true
		}
	}
	return false
}
