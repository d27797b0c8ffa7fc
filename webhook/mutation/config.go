package mutation

import (
	"errors"
	"fmt"
)

// Config says which mutations apply and how.
type Config struct {
	// SetScheduler sets spec.schedulerName to SchedulerName when it is
	// empty or default-scheduler.
	SetScheduler  bool   `json:"setScheduler"`
	SchedulerName string `json:"schedulerName"`
	// SetTolerations shortens the NoExecute not-ready and unreachable
	// tolerations to TolerationSeconds.
	SetTolerations    bool  `json:"setTolerations"`
	TolerationSeconds int64 `json:"tolerationSeconds"`
	// SpreadZones adds a zone topology spread over the pods of one
	// StatefulSet or Deployment.
	SpreadZones bool `json:"spreadZones"`
	// PreferDataZones adds a preferred node affinity for the zones that
	// hold UpToDate data of the pod's volumes.
	PreferDataZones bool `json:"preferDataZones"`
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.SetScheduler && c.SchedulerName == "" {
		errs = append(errs, errors.New("schedulerName must be set when setScheduler is on"))
	}
	if c.SetTolerations && (c.TolerationSeconds < 0 || c.TolerationSeconds > 3600) {
		errs = append(errs, fmt.Errorf("tolerationSeconds %d: must be between 0 and 3600", c.TolerationSeconds))
	}
	return errors.Join(errs...)
}
