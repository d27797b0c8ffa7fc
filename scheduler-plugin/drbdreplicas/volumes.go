package drbdreplicas

import (
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// volumeLister finds the DRBD resources behind a pod's volumes.
type volumeLister struct {
	claims  corelisters.PersistentVolumeClaimLister
	volumes corelisters.PersistentVolumeLister
	classes storagelisters.StorageClassLister
}

// podVolumes is what a pod's volumes tell about DRBD.
type podVolumes struct {
	// resources are the DRBD resources of bound volumes.
	resources []string
	// pending counts claims of our driver that are not bound yet: their
	// resource does not exist, so any node is as good as any other.
	pending int
}

// resourcesOf returns the DRBD resources of a pod's volumes. Claims that do
// not exist yet and lookups that fail are left to the volume binding
// plugin, which rejects such pods itself.
func (l *volumeLister) resourcesOf(pod *corev1.Pod) (podVolumes, error) {
	var out podVolumes
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		var claimName string
		switch {
		case v.PersistentVolumeClaim != nil:
			claimName = v.PersistentVolumeClaim.ClaimName
		case v.Ephemeral != nil:
			claimName = pod.Name + "-" + v.Name
		default:
			continue
		}
		claim, err := l.claims.PersistentVolumeClaims(pod.Namespace).Get(claimName)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return out, err
		}
		if claim.Spec.VolumeName == "" {
			if l.ourClass(claim.Spec.StorageClassName) {
				out.pending++
			}
			continue
		}
		pv, err := l.volumes.Get(claim.Spec.VolumeName)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return out, err
		}
		if csi := pv.Spec.CSI; csi != nil && csi.Driver == metadata.DriverName && csi.VolumeHandle != "" {
			out.resources = append(out.resources, csi.VolumeHandle)
		}
	}
	return out, nil
}

func (l *volumeLister) ourClass(name *string) bool {
	if name == nil || *name == "" {
		return false
	}
	sc, err := l.classes.Get(*name)
	return err == nil && sc.Provisioner == metadata.DriverName
}
