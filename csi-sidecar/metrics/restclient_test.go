package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestAPIRequestsCounted checks that a request of a real client-go
// clientset shows up in the registry of every Metrics, with its code and
// method.
func TestAPIRequestsCounted(t *testing.T) {
	first, second := New(), New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`))
	}))
	defer srv.Close()
	client := kubernetes.NewForConfigOrDie(&rest.Config{Host: srv.URL})
	before := testutil.ToFloat64(apiRequests.WithLabelValues("404", "GET", srv.Listener.Addr().String()))
	if _, err := client.CoreV1().Nodes().Get(context.Background(), "gone", metav1.GetOptions{}); err == nil {
		t.Fatal("Get of a missing node succeeded")
	}
	after := testutil.ToFloat64(apiRequests.WithLabelValues("404", "GET", srv.Listener.Addr().String()))
	if after-before != 1 {
		t.Errorf("rest_client_requests_total{code=404,method=GET} grew by %v, want 1", after-before)
	}
	for i, m := range []*Metrics{first, second} {
		families, err := m.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range families {
			found = found || f.GetName() == "rest_client_requests_total"
		}
		if !found {
			t.Errorf("registry %d does not serve rest_client_requests_total", i)
		}
	}
}
