package podhandler

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/pkg/replicas"
	"github.com/linstor-ha/linstor-ha/webhook/mutation"
)

// Handler mutates pods on creation.
type Handler struct {
	// Reader reads claims, volumes, classes and namespaces, from a cache.
	Reader client.Reader
	// APIReader reads from the API server. An object the cache does not
	// have yet is looked up there: the StatefulSet controller creates a
	// claim just before its pod, and a pod admitted unmutated for a cache
	// lag would keep the default scheduler for good.
	APIReader client.Reader
	// Replicas are the replica reports, for the zones holding data.
	Replicas *replicas.Index
	// Protection judges what the pod's volumes survive, for a warning
	// when they would not fail over after the loss of a zone; nil gives
	// no such warning.
	Protection *ProtectionIndex
	// StaleAfter is how old a report may be and still count.
	StaleAfter time.Duration
	// OwnNamespace is never mutated, nor is kube-system.
	OwnNamespace string
	Config       *mutation.Config
	Metrics      *Metrics
	Now          func() time.Time
}

// perPodLabels differ between the pods of one workload, so they do not
// select the workload.
var perPodLabels = []string{
	"controller-revision-hash", "pod-template-hash",
	"statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
}

// Handle answers one admission request.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	began := h.Now()
	resp, result := h.handle(ctx, req)
	h.Metrics.Admissions.WithLabelValues(result).Inc()
	h.Metrics.Duration.Observe(h.Now().Sub(began).Seconds())
	return resp
}

func (h *Handler) handle(ctx context.Context, req admission.Request) (admission.Response, string) {
	logger := klog.FromContext(ctx).WithValues("namespace", req.Namespace, "uid", req.UID)
	if req.Kind.Kind == "" {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("the admission request names no kind")), resultBadRequest
	}
	if req.Kind.Kind != "Pod" || req.Operation != admissionv1.Create {
		return admission.Allowed("only pod creation is mutated"), resultExcluded
	}
	pod, in, err := decodePod(req.Object.Raw)
	if err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("failed to decode the pod: %w", err)), resultBadRequest
	}
	if pod.Namespace == "" {
		pod.Namespace = req.Namespace
	}
	reader := &fallbackReader{cache: h.Reader, api: h.APIReader}
	reason, err := h.excluded(ctx, reader, pod)
	if err != nil {
		logger.Error(err, "Failed to look up the pod's namespace; admitting it unchanged")
		return admission.Allowed("").WithWarnings("linstor-ha: pod admitted without DRBD placement settings: " + err.Error()), resultLookupFailed
	}
	if reason != "" {
		return admission.Allowed(reason), resultExcluded
	}
	vols, err := lookupVolumes(ctx, reader, pod)
	if err != nil {
		logger.Error(err, "Failed to look up the pod's volumes; admitting it unchanged")
		return admission.Allowed("").WithWarnings("linstor-ha: pod admitted without DRBD placement settings: " + err.Error()), resultLookupFailed
	}
	if !vols.uses {
		return admission.Allowed("no DRBD volumes"), resultNotDRBD
	}
	facts := mutation.Facts{WorkloadLabels: workloadLabels(pod)}
	now := h.Now()
	for _, res := range vols.resources {
		for _, z := range replicas.ZonesWithData(h.Replicas.Replicas(res), now, h.StaleAfter) {
			if !slices.Contains(facts.DataZones, z) {
				facts.DataZones = append(facts.DataZones, z)
			}
		}
	}
	slices.Sort(facts.DataZones)
	warnings := h.protectionWarnings(vols.resources, now)
	if len(warnings) > 0 {
		h.Metrics.ProtectionWarnings.Add(float64(len(warnings)))
		logger.V(2).Info("Pod on volumes that would not fail over after a zone loss", "pod", klog.KRef(pod.Namespace, podName(pod)), "warnings", warnings)
	}
	changes := mutation.Mutate(pod, facts, h.Config)
	if len(changes) == 0 {
		return admission.Allowed("nothing to change").WithWarnings(warnings...), resultUnchanged
	}
	logger.V(2).Info("Mutated pod", "pod", klog.KRef(pod.Namespace, podName(pod)), "changes", changes)
	return admission.Patched("", mutation.Patch(pod, changes, in)...).WithWarnings(warnings...), resultMutated
}

// protectionWarnings returns a warning per volume of the pod that would
// not fail over after the loss of a zone (or of a node). It only reads the
// index: nothing here can delay or refuse the pod.
func (h *Handler) protectionWarnings(resources []string, now time.Time) []string {
	if h.Protection == nil {
		return nil
	}
	zones := h.Protection.Zones()
	var out []string
	for i, res := range resources {
		if slices.Contains(resources[:i], res) {
			continue
		}
		if w := protectionWarning(res, h.Protection.Replicas(res, now, h.StaleAfter), zones); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// excluded returns why the pod must not be mutated, or "". The
// registration's selectors exclude the same pods already; checking again
// keeps the opt-outs when the registration is edited.
func (h *Handler) excluded(ctx context.Context, reader client.Reader, pod *corev1.Pod) (string, error) {
	if pod.Namespace == metav1.NamespaceSystem || pod.Namespace == h.OwnNamespace {
		return "namespace " + pod.Namespace + " is never mutated", nil
	}
	if _, ok := pod.Annotations[metadata.AnnotationSkipMutation]; ok {
		return "pod opted out with the annotation " + metadata.AnnotationSkipMutation, nil
	}
	if pod.Labels[metadata.AnnotationSkipMutation] == "true" {
		return "pod opted out with the label " + metadata.AnnotationSkipMutation, nil
	}
	var ns corev1.Namespace
	if err := reader.Get(ctx, types.NamespacedName{Name: pod.Namespace}, &ns); err != nil {
		return "", fmt.Errorf("failed to get Namespace %s: %w", pod.Namespace, err)
	}
	if ns.Labels[metadata.LabelNamespaceMutation] == metadata.LabelValueDisabled {
		return "namespace opted out with " + metadata.LabelNamespaceMutation, nil
	}
	return "", nil
}

// fallbackReader reads from the cache and, for what the cache does not
// have yet, from the API server.
type fallbackReader struct {
	cache, api client.Reader
}

// apiLookupTimeout bounds a read from the API server on a cache miss. The
// API server waits for the whole admission only timeoutSeconds (3 s in
// the registration) and then admits the pod unchanged; a lookup on a
// connection that a partition left open must fail well before, so that
// the pod is still admitted with what the cache knows.
const apiLookupTimeout = time.Second

func (r *fallbackReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	err := r.cache.Get(ctx, key, obj, opts...)
	if apierrors.IsNotFound(err) && r.api != nil {
		ctx, cancel := context.WithTimeout(ctx, apiLookupTimeout)
		defer cancel()
		return r.api.Get(ctx, key, obj, opts...)
	}
	return err
}

func (r *fallbackReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return r.cache.List(ctx, list, opts...)
}

// workloadLabels returns the labels shared by the pods of the pod's
// StatefulSet or Deployment (through its ReplicaSet), nil for other pods.
func workloadLabels(pod *corev1.Pod) map[string]string {
	owner := metav1.GetControllerOf(pod)
	if owner == nil || (owner.Kind != "StatefulSet" && owner.Kind != "ReplicaSet") {
		return nil
	}
	out := map[string]string{}
	for k, v := range pod.Labels {
		if !slices.Contains(perPodLabels, k) {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// podName is the pod's name, or its generateName prefix before the API
// server has named it.
func podName(pod *corev1.Pod) string {
	if pod.Name != "" {
		return pod.Name
	}
	return pod.GenerateName
}
