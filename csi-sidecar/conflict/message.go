package conflict

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/types"
)

// maxNamed bounds the pods a message names: an HA controller runs one pod
// per node, and a message with a hundred names says no more than three.
const maxNamed = 3

// Describe names the pods in a message for people (an Event, /readyz):
// the first few, and how many more there are.
func Describe(pods []types.NamespacedName) string {
	names := make([]string, 0, maxNamed)
	for i, p := range pods {
		if i == maxNamed {
			break
		}
		names = append(names, p.String())
	}
	s := strings.Join(names, ", ")
	if more := len(pods) - len(names); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// NotReady is what /readyz answers while pods of the other actor run.
func NotReady(pods []types.NamespacedName, selector string) string {
	return fmt.Sprintf("not failing over while another fail-over actor runs: %d pod(s) matching %s: %s", len(pods), selector, Describe(pods))
}
