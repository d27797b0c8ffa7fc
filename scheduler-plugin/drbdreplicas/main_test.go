package drbdreplicas

import (
	"os"
	"testing"

	"k8s.io/kubernetes/pkg/scheduler/metrics"
)

func TestMain(m *testing.M) {
	// The framework records plugin metrics; the scheduler registers them
	// at start, tests have to do it themselves.
	metrics.Register()
	os.Exit(m.Run())
}
