package podhandler

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/linstor-ha/linstor-ha/pkg/podvolumes"
)

// drbdVolumes is what the pod's volumes say about DRBD.
type drbdVolumes struct {
	// uses is true when at least one volume is (or will be) DRBD.
	uses bool
	// resources are the DRBD resources of bound volumes.
	resources []string
}

// lookupVolumes follows each volume of the pod to its driver by the rule
// of package podvolumes. A claim, volume or class that does not exist is
// an error: the pod cannot be judged.
func lookupVolumes(ctx context.Context, c client.Reader, pod *corev1.Pod) (drbdVolumes, error) {
	var out drbdVolumes
	r := resolver(c)
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		switch {
		case v.PersistentVolumeClaim != nil:
			claim, err := r.Resolve(ctx, pod.Namespace, v.PersistentVolumeClaim.ClaimName)
			if err != nil {
				return out, err
			}
			out.uses = out.uses || claim.Ours
			if claim.Resource != "" {
				out.resources = append(out.resources, claim.Resource)
			}
		case v.Ephemeral != nil && v.Ephemeral.VolumeClaimTemplate != nil:
			// The ephemeral volume controller creates the claim only once
			// the pod exists, and a pod being created may not even have
			// its name yet: the template's class is all there is to read.
			ours, err := ourClass(ctx, c, v.Ephemeral.VolumeClaimTemplate.Spec.StorageClassName)
			if err != nil {
				return out, err
			}
			out.uses = out.uses || ours
		}
	}
	return out, nil
}

// ourClass reports whether a claim of StorageClass name (nil: the default
// class) is provisioned by our driver.
func ourClass(ctx context.Context, c client.Reader, name *string) (bool, error) {
	return resolver(c).OwnsClass(ctx, name)
}

func resolver(c client.Reader) podvolumes.Resolver {
	l := readerLookups{c}
	return podvolumes.Resolver{Claims: l, Volumes: l, Classes: l}
}

// readerLookups are podvolumes' lookups through a controller-runtime
// reader: the handler's cache with its API server fallback.
type readerLookups struct {
	reader client.Reader
}

func (l readerLookups) GetClaim(ctx context.Context, namespace, name string) (*corev1.PersistentVolumeClaim, error) {
	var pvc corev1.PersistentVolumeClaim
	if err := l.reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &pvc); err != nil {
		return nil, err
	}
	return &pvc, nil
}

func (l readerLookups) GetVolume(ctx context.Context, name string) (*corev1.PersistentVolume, error) {
	var pv corev1.PersistentVolume
	if err := l.reader.Get(ctx, types.NamespacedName{Name: name}, &pv); err != nil {
		return nil, err
	}
	return &pv, nil
}

func (l readerLookups) GetClass(ctx context.Context, name string) (*storagev1.StorageClass, error) {
	var sc storagev1.StorageClass
	if err := l.reader.Get(ctx, types.NamespacedName{Name: name}, &sc); err != nil {
		return nil, err
	}
	return &sc, nil
}

func (l readerLookups) ListClasses(ctx context.Context) ([]*storagev1.StorageClass, error) {
	var list storagev1.StorageClassList
	if err := l.reader.List(ctx, &list); err != nil {
		return nil, err
	}
	out := make([]*storagev1.StorageClass, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}
