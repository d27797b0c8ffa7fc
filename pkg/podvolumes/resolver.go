package podvolumes

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// The lookups are how a Resolver reads the cluster; each caller implements
// them over its own data source. A missing object must be reported with an
// error for which apierrors.IsNotFound is true: the Resolver wraps lookup
// errors with %w, so callers can still tell "not there yet" from a failure
// and decide which to skip. A lookup that returns neither object nor error
// is taken as "not ours".

// ClaimGetter gets a PersistentVolumeClaim.
type ClaimGetter interface {
	GetClaim(ctx context.Context, namespace, name string) (*corev1.PersistentVolumeClaim, error)
}

// VolumeGetter gets a PersistentVolume.
type VolumeGetter interface {
	GetVolume(ctx context.Context, name string) (*corev1.PersistentVolume, error)
}

// ClassGetter gets StorageClasses; listing them finds the default class.
type ClassGetter interface {
	GetClass(ctx context.Context, name string) (*storagev1.StorageClass, error)
	ListClasses(ctx context.Context) ([]*storagev1.StorageClass, error)
}

// Resolver applies the package's rule through the caller's lookups.
type Resolver struct {
	Claims  ClaimGetter
	Volumes VolumeGetter
	// Classes is read only for unbound claims, by Resolve and OwnsClass;
	// a caller that needs only Resource may leave it nil.
	Classes ClassGetter
}

// Claim is what a claim is to the DRBD driver.
type Claim struct {
	// Ours is true when the DRBD driver provisioned the claim's volume, or
	// will provision it once the claim is bound.
	Ours bool
	// Resource is the DRBD resource of a claim bound to a PersistentVolume
	// of the DRBD driver, "" before that.
	Resource string
}

// Resolve tells whether the claim namespace/name belongs to the DRBD driver
// and, once it is bound, its DRBD resource.
func (r Resolver) Resolve(ctx context.Context, namespace, name string) (Claim, error) {
	claim, err := r.claim(ctx, namespace, name)
	if err != nil || claim == nil {
		return Claim{}, err
	}
	if claim.Spec.VolumeName != "" {
		res, err := r.boundResource(ctx, claim)
		return Claim{Ours: res != "", Resource: res}, err
	}
	ours, err := r.OwnsClass(ctx, claim.Spec.StorageClassName)
	return Claim{Ours: ours}, err
}

// Resource returns the DRBD resource of the claim namespace/name, "" while
// it is unbound or when it is bound to another driver's volume. Unlike
// Resolve it never reads StorageClasses: an unbound claim has no resource,
// whatever its class.
func (r Resolver) Resource(ctx context.Context, namespace, name string) (string, error) {
	claim, err := r.claim(ctx, namespace, name)
	if err != nil || claim == nil || claim.Spec.VolumeName == "" {
		return "", err
	}
	return r.boundResource(ctx, claim)
}

// OwnsClass reports whether the DRBD driver provisions an unbound claim of
// StorageClass name: nil is the cluster's default class, "" is no class.
func (r Resolver) OwnsClass(ctx context.Context, name *string) (bool, error) {
	var sc *storagev1.StorageClass
	switch {
	case name == nil:
		classes, err := r.Classes.ListClasses(ctx)
		if err != nil {
			return false, fmt.Errorf("failed to list StorageClasses: %w", err)
		}
		sc = DefaultClass(classes)
	case *name == "":
		// No class: bound only to existing volumes, never provisioned.
		return false, nil
	default:
		var err error
		if sc, err = r.Classes.GetClass(ctx, *name); err != nil {
			return false, fmt.Errorf("failed to get StorageClass %s: %w", *name, err)
		}
	}
	return sc != nil && sc.Provisioner == metadata.DriverName, nil
}

func (r Resolver) claim(ctx context.Context, namespace, name string) (*corev1.PersistentVolumeClaim, error) {
	claim, err := r.Claims.GetClaim(ctx, namespace, name)
	if err != nil {
		return nil, fmt.Errorf("failed to get PersistentVolumeClaim %s/%s: %w", namespace, name, err)
	}
	return claim, nil
}

// boundResource returns the DRBD resource of the volume claim is bound to.
func (r Resolver) boundResource(ctx context.Context, claim *corev1.PersistentVolumeClaim) (string, error) {
	pv, err := r.Volumes.GetVolume(ctx, claim.Spec.VolumeName)
	if err != nil {
		return "", fmt.Errorf("failed to get PersistentVolume %s: %w", claim.Spec.VolumeName, err)
	}
	res, _ := Resource(pv)
	return res, nil
}
