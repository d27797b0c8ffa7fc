package cluster

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// podDeleteStage is the name of kwok's Stage that removes a deleted pod at
// once, as if a kubelet had stopped its containers.
const podDeleteStage = "pod-delete"

// kubeletConfirmsVolumePods is added to that Stage's selector on the nodes
// that run a kubelet stand-in: a pod with a PersistentVolumeClaim is left
// to the stand-in, which confirms its deletion only once it could close
// the pod's DRBD devices. A real kubelet cannot kill processes that sleep
// in frozen I/O, nor unmount their filesystem; kwok would confirm anyway.
var kubeletConfirmsVolumePods = map[string]any{
	"key":      ".spec.volumes[]?.persistentVolumeClaim",
	"operator": "DoesNotExist",
}

// writeNodeStages writes the kwok Stages of the nodes with a kubelet
// stand-in into dir: the tools' Stages, with pods that use a claim left to
// the stand-in. It returns the file's path.
func writeNodeStages(tools, dir string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(tools, "kwok-stages.yaml"))
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	found := false
	for _, doc := range bytes.Split(raw, []byte("\n---")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var stage map[string]any
		if err := yaml.Unmarshal(doc, &stage); err != nil {
			return "", fmt.Errorf("failed to parse a kwok Stage: %w", err)
		}
		if name, _, _ := unstructured.NestedString(stage, "metadata", "name"); name == podDeleteStage {
			exprs, _, err := unstructured.NestedSlice(stage, "spec", "selector", "matchExpressions")
			if err != nil {
				return "", fmt.Errorf("kwok Stage %s: %w", podDeleteStage, err)
			}
			if err := unstructured.SetNestedSlice(stage, append(exprs, kubeletConfirmsVolumePods), "spec", "selector", "matchExpressions"); err != nil {
				return "", err
			}
			found = true
		}
		b, err := yaml.Marshal(stage)
		if err != nil {
			return "", err
		}
		out.Write(b)
		out.WriteString("---\n")
	}
	if !found {
		return "", fmt.Errorf("the tools' kwok Stages have no %s", podDeleteStage)
	}
	path := filepath.Join(dir, "kwok-node-stages.yaml")
	return path, os.WriteFile(path, out.Bytes(), 0o644)
}
