package report

import (
	"context"

	"k8s.io/client-go/rest"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/reportclient"
)

// Client reads and writes ReplicaReports.
type Client interface {
	Get(ctx context.Context, name string) (*v1alpha1.ReplicaReport, error)
	Create(ctx context.Context, rr *v1alpha1.ReplicaReport) error
	// PatchStatus applies a JSON merge patch to a report's status.
	PatchStatus(ctx context.Context, name string, patch []byte) error
}

// NewClient returns a Client for the API server of cfg.
func NewClient(cfg *rest.Config) (Client, error) {
	return reportclient.New(cfg)
}
