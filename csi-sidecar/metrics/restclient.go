package metrics

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	clientmetrics "k8s.io/client-go/tools/metrics"
)

// apiRequests counts every request the process's Kubernetes clients make,
// by the name and labels of client-go's own metric, so that the dashboards
// written for Kubernetes components work for the sidecar too. client-go
// takes one adapter per process, so it is shared by every registry that
// New creates.
var apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "rest_client_requests_total",
	Help: "Kubernetes API requests by status code, method and host.",
}, []string{"code", "method", "host"})

var registerClientMetrics sync.Once

// requestResult feeds client-go's request results into apiRequests.
type requestResult struct{}

func (requestResult) Increment(_ context.Context, code, method, host string) {
	apiRequests.WithLabelValues(code, method, host).Inc()
}

// hookClientMetrics makes client-go report its requests to apiRequests.
func hookClientMetrics() {
	registerClientMetrics.Do(func() {
		clientmetrics.Register(clientmetrics.RegisterOpts{RequestResult: requestResult{}})
	})
}
