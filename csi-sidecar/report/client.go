package report

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// Client reads and writes ReplicaReports.
type Client interface {
	Get(ctx context.Context, name string) (*v1alpha1.ReplicaReport, error)
	Create(ctx context.Context, rr *v1alpha1.ReplicaReport) error
	// PatchStatus applies a JSON merge patch to a report's status.
	PatchStatus(ctx context.Context, name string, patch []byte) error
}

// restClient is Client over the API server's REST interface. A plain REST
// client keeps the sidecar free of a generic client and its caches.
type restClient struct {
	rest rest.Interface
}

// NewClient returns a Client for the API server of cfg.
func NewClient(cfg *rest.Config) (Client, error) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &v1alpha1.SchemeGroupVersion
	c.APIPath = "/apis"
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("failed to create the replica report client: %w", err)
	}
	return &restClient{rest: rc}, nil
}

func (c *restClient) Get(ctx context.Context, name string) (*v1alpha1.ReplicaReport, error) {
	var rr v1alpha1.ReplicaReport
	err := c.rest.Get().Resource(metadata.ReportResource).Name(name).Do(ctx).Into(&rr)
	return &rr, err
}

func (c *restClient) Create(ctx context.Context, rr *v1alpha1.ReplicaReport) error {
	return c.rest.Post().Resource(metadata.ReportResource).VersionedParams(&metav1.CreateOptions{}, metav1.ParameterCodec).
		Body(rr).Do(ctx).Error()
}

func (c *restClient) PatchStatus(ctx context.Context, name string, patch []byte) error {
	return c.rest.Patch(types.MergePatchType).Resource(metadata.ReportResource).Name(name).SubResource("status").
		Body(patch).Do(ctx).Error()
}
