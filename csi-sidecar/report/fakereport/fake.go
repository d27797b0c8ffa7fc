// Package fakereport is an in-memory report.Client for tests.
package fakereport

import (
	"context"
	"encoding/json"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
)

// Client keeps reports in memory. A status patch replaces the whole status,
// which is what the publisher sends.
type Client struct {
	mu      sync.Mutex
	reports map[string]*v1alpha1.ReplicaReport
	// Fail, when set, is called before every request; an error it returns
	// fails the request.
	Fail func() error
}

// New returns an empty fake.
func New() *Client { return &Client{reports: map[string]*v1alpha1.ReplicaReport{}} }

func (c *Client) fail() error {
	if c.Fail != nil {
		return c.Fail()
	}
	return nil
}

// Get returns a copy of a report.
func (c *Client) Get(_ context.Context, name string) (*v1alpha1.ReplicaReport, error) {
	if err := c.fail(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rr, ok := c.reports[name]
	if !ok {
		return nil, apierrors.NewNotFound(v1alpha1.SchemeGroupVersion.WithResource("replicareports").GroupResource(), name)
	}
	return rr.DeepCopy(), nil
}

// Create stores a new report.
func (c *Client) Create(_ context.Context, rr *v1alpha1.ReplicaReport) error {
	if err := c.fail(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.reports[rr.Name]; ok {
		return apierrors.NewAlreadyExists(v1alpha1.SchemeGroupVersion.WithResource("replicareports").GroupResource(), rr.Name)
	}
	c.reports[rr.Name] = rr.DeepCopy()
	return nil
}

// PatchStatus replaces a report's status with the patch's.
func (c *Client) PatchStatus(_ context.Context, name string, patch []byte) error {
	if err := c.fail(); err != nil {
		return err
	}
	var p struct {
		Status v1alpha1.ReplicaReportStatus `json:"status"`
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rr, ok := c.reports[name]
	if !ok {
		return apierrors.NewNotFound(v1alpha1.SchemeGroupVersion.WithResource("replicareports").GroupResource(), name)
	}
	rr.Status = p.Status
	return nil
}
