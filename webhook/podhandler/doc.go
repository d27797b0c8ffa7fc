// Package podhandler is the webhook's admission handler for pod creation:
// it decodes the request, applies the exclusions, learns from the cluster
// whether the pod uses DRBD volumes and where their data is, and answers
// with the patch of package mutation. A failed lookup never blocks a pod:
// it is admitted unchanged, with a warning and a metric.
package podhandler
