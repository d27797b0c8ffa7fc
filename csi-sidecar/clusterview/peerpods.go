package clusterview

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// peerPodsIdle is how long the pods of a peer stay watched after the last
// evaluation that asked for them: a fail-over asks again and again within
// seconds, a recovered peer is not asked for any more.
const peerPodsIdle = 2 * time.Minute

// peerPodsListTimeout is the deadline of a direct LIST of a peer's pods.
const peerPodsListTimeout = 10 * time.Second

// peerPods watches the pods of the peers that a fail-over looks at. A
// survivor that may take a lost peer's pods over evaluates them on every
// change until they have moved; a LIST of the peer's pods each time was
// most of the API requests of a room's fail-over. A watch per peer (a
// field selector on its node name) costs one LIST and one WATCH for the
// whole fail-over, and tells the controller at once when a deleted pod is
// gone, which is what the next step waits for. Only lost peers are
// watched, and only while they are asked for, so that memory does not
// grow with the cluster's pod count.
type peerPods struct {
	client   Clients
	onChange func()

	mu     sync.Mutex
	ctx    context.Context // the view's, once started
	byNode map[string]*peerWatch
}

type peerWatch struct {
	informer cache.SharedIndexInformer
	lister   corelisters.PodLister
	stop     context.CancelFunc
	lastUsed time.Time
}

func newPeerPods(client Clients, onChange func()) *peerPods {
	return &peerPods{client: client, onChange: onChange, byNode: map[string]*peerWatch{}}
}

// start lets watches begin; they and the sweep of idle ones end with ctx.
func (p *peerPods) start(ctx context.Context) {
	p.mu.Lock()
	p.ctx = ctx
	p.mu.Unlock()
	go wait.UntilWithContext(ctx, func(context.Context) { p.sweep(time.Now()) }, peerPodsIdle/2)
}

// sweep stops the watches that nobody asked for since peerPodsIdle.
func (p *peerPods) sweep(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for node, w := range p.byNode {
		if now.Sub(w.lastUsed) > peerPodsIdle {
			w.stop()
			delete(p.byNode, node)
		}
	}
}

// list returns the pods of node from its watch, starting the watch when
// there is none. Until the watch has its first list (or while its
// reflector backs off after failed lists) the pods are listed directly, so
// that an evaluation neither waits for the watch nor depends on its
// backoff.
func (p *peerPods) list(ctx context.Context, node string) ([]*corev1.Pod, error) {
	w, err := p.watch(node)
	if err != nil {
		return nil, err
	}
	if w.informer.HasSynced() {
		return w.lister.List(labels.Everything())
	}
	listCtx, cancel := context.WithTimeout(ctx, peerPodsListTimeout)
	defer cancel()
	list, err := p.client.CoreV1().Pods(metav1.NamespaceAll).List(listCtx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String(),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to list the pods of node %s: %w", node, err)
	}
	out := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

func (p *peerPods) watch(node string) (*peerWatch, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx == nil {
		return nil, errors.New("the cluster view is not started")
	}
	if w, ok := p.byNode[node]; ok {
		w.lastUsed = time.Now()
		return w, nil
	}
	allPods := p.client.CoreV1().Pods(metav1.NamespaceAll)
	lw := listWatch(allPods.List, allPods.Watch, fields.OneTermEqualSelector("spec.nodeName", node).String())
	inf := cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, p.client), &corev1.Pod{}, 0,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := inf.SetTransform(trim); err != nil {
		return nil, fmt.Errorf("failed to set the cache transform: %w", err)
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { p.onChange() },
		UpdateFunc: func(any, any) { p.onChange() },
		DeleteFunc: func(any) { p.onChange() },
	}); err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(p.ctx)
	w := &peerWatch{informer: inf, lister: corelisters.NewPodLister(inf.GetIndexer()), stop: stop, lastUsed: time.Now()}
	p.byNode[node] = w
	go inf.RunWithContext(ctx)
	return w, nil
}

// watched returns the nodes whose pods are watched.
func (p *peerPods) watched() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.byNode))
	for n := range p.byNode {
		out = append(out, n)
	}
	return out
}
