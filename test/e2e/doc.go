// Package e2e holds the end-to-end tests that run on a local cluster of real
// upstream components (see package cluster).
package e2e
