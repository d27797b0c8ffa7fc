//go:build pin

// Package pin records, through blank imports, the dependencies that the
// project pins in go.mod before every part that uses them exists. The build
// tag keeps it out of every binary; `go mod tidy` still honours it.
package pin

import (
	_ "github.com/container-storage-interface/spec/lib/go/csi"
	_ "github.com/kubernetes-csi/csi-lib-utils/connection"
	_ "github.com/kubernetes-csi/csi-lib-utils/rpc"
	_ "google.golang.org/grpc"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/kube-scheduler/config/v1"
	_ "k8s.io/kubernetes/cmd/kube-scheduler/app"
	_ "sigs.k8s.io/controller-runtime/pkg/webhook"
)
