// Package restconfig loads the Kubernetes client configuration every
// linstor-ha binary starts from: a kubeconfig file when one is given, the
// pod's in-cluster account otherwise.
package restconfig

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Load returns the configuration with the given rate limits and user agent.
func Load(kubeconfig string, qps float64, burst int, userAgent string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("failed to load the Kubernetes client configuration: %w", err)
	}
	cfg.QPS, cfg.Burst = float32(qps), burst
	cfg.UserAgent = userAgent
	return cfg, nil
}
