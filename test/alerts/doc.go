// Package alerts tests linstor-ha's monitoring component: the alert rules
// with promtool's own unit tests, and that every alert, rule and dashboard
// panel speaks of metrics the binaries really export and of runbook
// sections that exist.
package alerts
