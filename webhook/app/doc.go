// Package app wires the webhook: options, configuration file, the
// controller-runtime manager with its TLS server, caches and probes.
package app
