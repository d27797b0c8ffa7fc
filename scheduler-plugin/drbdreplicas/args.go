package drbdreplicas

import (
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	sigsjson "sigs.k8s.io/json"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// ArgsAPIVersion and ArgsKind name the plugin's configuration in a
// KubeSchedulerConfiguration's pluginConfig. Both are optional there.
const (
	ArgsAPIVersion = metadata.Domain + "/v1alpha1"
	ArgsKind       = Name + "Args"
)

// Args configures the plugin. Unset fields take their defaults.
type Args struct {
	metav1.TypeMeta `json:",inline"`

	// StaleAfter is how old a report's heartbeat may be before its
	// replicas count as unknown. Default 20s: four missed heartbeats of
	// the sidecar's default 5s.
	StaleAfter *metav1.Duration `json:"staleAfter,omitempty"`
	// Strict accepts only nodes with an UpToDate diskful replica of every
	// volume that has one somewhere. A pod can ask for it with the
	// strict-placement annotation. Default false.
	Strict *bool `json:"strict,omitempty"`
	// DataWeight scores a node holding UpToDate data of a volume.
	// Default 10.
	DataWeight *int64 `json:"dataWeight,omitempty"`
	// ZoneWeight scores a node in a zone that holds UpToDate data of a
	// volume. Default 4.
	ZoneWeight *int64 `json:"zoneWeight,omitempty"`
	// DisklessWeight scores a node holding a healthy diskless replica (a
	// client or tiebreaker) of a volume. Default 2.
	DisklessWeight *int64 `json:"disklessWeight,omitempty"`
}

// settings are Args with defaults applied and validated.
type settings struct {
	staleAfter                             time.Duration
	strict                                 bool
	dataWeight, zoneWeight, disklessWeight int64
}

// SetDefaults fills unset fields.
func (a *Args) SetDefaults() {
	if a.StaleAfter == nil {
		a.StaleAfter = &metav1.Duration{Duration: 20 * time.Second}
	}
	if a.Strict == nil {
		a.Strict = ptr.To(false)
	}
	if a.DataWeight == nil {
		a.DataWeight = ptr.To[int64](10)
	}
	if a.ZoneWeight == nil {
		a.ZoneWeight = ptr.To[int64](4)
	}
	if a.DisklessWeight == nil {
		a.DisklessWeight = ptr.To[int64](2)
	}
}

const maxWeight = 100

// Validate checks defaulted args.
func (a *Args) Validate() error {
	var errs []error
	if a.APIVersion != "" && a.APIVersion != ArgsAPIVersion {
		errs = append(errs, fmt.Errorf("apiVersion %q: want %q", a.APIVersion, ArgsAPIVersion))
	}
	if a.Kind != "" && a.Kind != ArgsKind {
		errs = append(errs, fmt.Errorf("kind %q: want %q", a.Kind, ArgsKind))
	}
	if d := a.StaleAfter.Duration; d < time.Second || d > time.Hour {
		errs = append(errs, fmt.Errorf("staleAfter %v: must be between 1s and 1h", d))
	}
	for _, w := range []struct {
		name string
		v    int64
	}{{"dataWeight", *a.DataWeight}, {"zoneWeight", *a.ZoneWeight}, {"disklessWeight", *a.DisklessWeight}} {
		if w.v < 0 || w.v > maxWeight {
			errs = append(errs, fmt.Errorf("%s %d: must be between 0 and %d", w.name, w.v, maxWeight))
		}
	}
	if *a.DataWeight <= *a.ZoneWeight+*a.DisklessWeight {
		errs = append(errs, fmt.Errorf("dataWeight %d must exceed zoneWeight + disklessWeight (%d): a node with the data must score best",
			*a.DataWeight, *a.ZoneWeight+*a.DisklessWeight))
	}
	return errors.Join(errs...)
}

// decodeArgs reads the plugin's args as the scheduler hands them over: nil
// when the configuration has none, raw JSON for an out-of-tree plugin, or
// an *Args in tests. Unknown fields are errors, so that a typo does not
// silently keep a default.
func decodeArgs(obj runtime.Object) (*settings, error) {
	var args Args
	switch o := obj.(type) {
	case nil:
	case *Args:
		args = *o.DeepCopy()
	case *runtime.Unknown:
		if len(o.Raw) > 0 {
			strictErrs, err := sigsjson.UnmarshalStrict(o.Raw, &args)
			if err != nil {
				return nil, fmt.Errorf("failed to decode %s args: %w", Name, err)
			}
			if len(strictErrs) > 0 {
				return nil, fmt.Errorf("failed to decode %s args: %w", Name, errors.Join(strictErrs...))
			}
		}
	default:
		return nil, fmt.Errorf("%s args: unexpected type %T", Name, obj)
	}
	args.SetDefaults()
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("invalid %s args: %w", Name, err)
	}
	return &settings{
		staleAfter: args.StaleAfter.Duration,
		strict:     *args.Strict,
		dataWeight: *args.DataWeight, zoneWeight: *args.ZoneWeight, disklessWeight: *args.DisklessWeight,
	}, nil
}

// DeepCopy returns a copy of a.
func (a *Args) DeepCopy() *Args {
	out := *a
	if a.StaleAfter != nil {
		out.StaleAfter = &metav1.Duration{Duration: a.StaleAfter.Duration}
	}
	out.Strict = copyPtr(a.Strict)
	out.DataWeight = copyPtr(a.DataWeight)
	out.ZoneWeight = copyPtr(a.ZoneWeight)
	out.DisklessWeight = copyPtr(a.DisklessWeight)
	return &out
}

// DeepCopyObject makes Args a runtime.Object.
func (a *Args) DeepCopyObject() runtime.Object { return a.DeepCopy() }

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
