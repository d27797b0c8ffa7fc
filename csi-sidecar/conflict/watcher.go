package conflict

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Client is what a Watcher reads pods with; a clientset is one.
type Client interface {
	CoreV1() corev1client.CoreV1Interface
}

// Watcher knows the pods of another fail-over actor. A nil Watcher
// watches nothing: it is synced and sees no pod.
type Watcher struct {
	selector labels.Selector
	informer cache.SharedIndexInformer
	pods     corelisters.PodLister
}

// New returns a watcher of the pods that selector matches in every
// namespace; onChange is called for every change of one of them. An empty
// selector turns the check off: New returns nil.
func New(client Client, selector string, onChange func()) (*Watcher, error) {
	if selector == "" {
		return nil, nil
	}
	sel, err := labels.Parse(selector)
	if err != nil {
		return nil, fmt.Errorf("failed to parse the selector of conflicting fail-over actors %q: %w", selector, err)
	}
	pods := client.CoreV1().Pods(metav1.NamespaceAll)
	restrict := func(o metav1.ListOptions) metav1.ListOptions {
		o.LabelSelector = sel.String()
		return o
	}
	// The server filters by the selector: the sidecar on every node holds
	// a handful of pods, not the cluster's.
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return pods.List(ctx, restrict(o))
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return pods.Watch(ctx, restrict(o))
		},
	}
	inf := cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, client), &corev1.Pod{}, 0, cache.Indexers{})
	if err := inf.SetTransform(trim); err != nil {
		return nil, fmt.Errorf("failed to set the cache transform: %w", err)
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { onChange() },
		UpdateFunc: func(any, any) { onChange() },
		DeleteFunc: func(any) { onChange() },
	}); err != nil {
		return nil, err
	}
	return &Watcher{selector: sel, informer: inf, pods: corelisters.NewPodLister(inf.GetIndexer())}, nil
}

// trim keeps what Counts, the selector and the messages read.
func trim(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	out := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion, DeletionTimestamp: p.DeletionTimestamp,
		Labels: p.Labels,
	}}
	out.Spec.NodeName = p.Spec.NodeName
	out.Status.Phase = p.Status.Phase
	return out, nil
}

// Start runs the watch until ctx ends.
func (w *Watcher) Start(ctx context.Context) {
	if w != nil {
		go w.informer.RunWithContext(ctx)
	}
}

// Synced reports whether the watch holds a complete list: before that,
// that no pod is seen proves nothing.
func (w *Watcher) Synced() bool {
	return w == nil || w.informer.HasSynced()
}

// Pods returns the other actor's pods that count as running (Counts),
// sorted by namespace and name.
func (w *Watcher) Pods() []types.NamespacedName {
	if w == nil {
		return nil
	}
	// The selector again: the cache holds what the server sent, and
	// matching here costs nothing.
	all, _ := w.pods.List(w.selector)
	return Running(all)
}

// Selector is the label selector of the other actor's pods, empty when
// nothing is watched.
func (w *Watcher) Selector() string {
	if w == nil {
		return ""
	}
	return w.selector.String()
}
