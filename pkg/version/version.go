// Package version holds the version every binary reports, stamped at build
// time with -ldflags "-X github.com/linstor-ha/linstor-ha/pkg/version.Version=...".
package version

// Version is the release of this build; "dev" for an unstamped build.
var Version = "dev"
