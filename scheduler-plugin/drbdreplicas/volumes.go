package drbdreplicas

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/linstor-ha/linstor-ha/pkg/podvolumes"
)

// volumeLister finds the DRBD resources behind a pod's volumes in the
// scheduler's informer caches.
type volumeLister struct {
	claims  corelisters.PersistentVolumeClaimLister
	volumes corelisters.PersistentVolumeLister
}

// resourcesOf returns the DRBD resources of a pod's bound volumes. An
// unbound claim has no resource yet, so it does not prefer any node. Claims
// and volumes that do not exist yet are left to the volume binding plugin,
// which rejects such pods itself.
func (l *volumeLister) resourcesOf(ctx context.Context, pod *corev1.Pod) ([]string, error) {
	r := podvolumes.Resolver{Claims: l, Volumes: l}
	var resources []string
	for _, claim := range podvolumes.ClaimNames(pod) {
		res, err := r.Resource(ctx, pod.Namespace, claim)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if res != "" {
			resources = append(resources, res)
		}
	}
	return resources, nil
}

// GetClaim implements podvolumes.ClaimGetter.
func (l *volumeLister) GetClaim(_ context.Context, namespace, name string) (*corev1.PersistentVolumeClaim, error) {
	return l.claims.PersistentVolumeClaims(namespace).Get(name)
}

// GetVolume implements podvolumes.VolumeGetter.
func (l *volumeLister) GetVolume(_ context.Context, name string) (*corev1.PersistentVolume, error) {
	return l.volumes.Get(name)
}
