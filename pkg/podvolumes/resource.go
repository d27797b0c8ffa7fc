package podvolumes

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// Resource returns the DRBD resource of pv: the volume handle the DRBD
// driver gave it, which is the resource's name on every node. ok is false
// for a nil PV and for PVs of any other driver or source.
func Resource(pv *corev1.PersistentVolume) (resource string, ok bool) {
	if pv == nil {
		return "", false
	}
	csi := pv.Spec.CSI
	if csi == nil || csi.Driver != metadata.DriverName || csi.VolumeHandle == "" {
		return "", false
	}
	return csi.VolumeHandle, true
}
