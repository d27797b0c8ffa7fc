// Package reportclient is a small typed client for ReplicaReports over the
// API server's REST interface. A plain REST client keeps its users free of a
// generic client and its caches.
package reportclient

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// Client reads, writes and watches ReplicaReports.
type Client struct {
	rest rest.Interface
}

// New returns a Client for the API server of cfg.
func New(cfg *rest.Config) (*Client, error) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &v1alpha1.SchemeGroupVersion
	c.APIPath = "/apis"
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	// Custom resources speak JSON only; a caller's config may ask for
	// protobuf (kube-scheduler's does).
	c.ContentType = runtime.ContentTypeJSON
	c.AcceptContentTypes = runtime.ContentTypeJSON
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("failed to create the replica report client: %w", err)
	}
	return &Client{rest: rc}, nil
}

// Get returns the report of one node.
func (c *Client) Get(ctx context.Context, name string) (*v1alpha1.ReplicaReport, error) {
	var rr v1alpha1.ReplicaReport
	err := c.rest.Get().Resource(metadata.ReportResource).Name(name).Do(ctx).Into(&rr)
	return &rr, err
}

// Create creates a report.
func (c *Client) Create(ctx context.Context, rr *v1alpha1.ReplicaReport) error {
	return c.rest.Post().Resource(metadata.ReportResource).VersionedParams(&metav1.CreateOptions{}, metav1.ParameterCodec).
		Body(rr).Do(ctx).Error()
}

// PatchStatus applies a JSON merge patch to a report's status.
func (c *Client) PatchStatus(ctx context.Context, name string, patch []byte) error {
	return c.rest.Patch(types.MergePatchType).Resource(metadata.ReportResource).Name(name).SubResource("status").
		Body(patch).Do(ctx).Error()
}

// List lists reports.
func (c *Client) List(ctx context.Context, opts metav1.ListOptions) (*v1alpha1.ReplicaReportList, error) {
	var list v1alpha1.ReplicaReportList
	err := c.rest.Get().Resource(metadata.ReportResource).VersionedParams(&opts, metav1.ParameterCodec).
		Do(ctx).Into(&list)
	return &list, err
}

// Watch watches reports.
func (c *Client) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return c.rest.Get().Resource(metadata.ReportResource).VersionedParams(&opts, metav1.ParameterCodec).Watch(ctx)
}

// ListWatch returns the list and watch functions an informer needs.
func (c *Client) ListWatch() *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return c.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return c.Watch(ctx, opts)
		},
	}
}
