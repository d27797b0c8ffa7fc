package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// StorageClassName is the StorageClass of the stand-in driver.
const StorageClassName = "linstor-replicated"

// installStorage registers the CSI driver (attach required, as LINSTOR's)
// and its StorageClass.
func (c *Cluster) installStorage(ctx context.Context) error {
	driver := &storagev1.CSIDriver{
		ObjectMeta: metav1.ObjectMeta{Name: metadata.DriverName},
		Spec: storagev1.CSIDriverSpec{
			AttachRequired: ptr.To(true),
			PodInfoOnMount: ptr.To(true),
		},
	}
	if _, err := c.Client.StorageV1().CSIDrivers().Create(ctx, driver, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create CSIDriver: %w", err)
	}
	bindingMode := storagev1.VolumeBindingWaitForFirstConsumer
	sc := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: StorageClassName},
		Provisioner:       metadata.DriverName,
		VolumeBindingMode: &bindingMode,
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimRetain),
		Parameters:        map[string]string{"linstor.csi.linbit.com/placementCount": "2"},
	}
	if _, err := c.Client.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create StorageClass: %w", err)
	}
	return nil
}

// Volume describes a replicated volume to create.
type Volume struct {
	// Namespace and Claim name the PVC; the DRBD resource and the PV are
	// named after the claim's namespace and name.
	Namespace, Claim string
	// Diskful and Tiebreakers are the nodes holding data and the diskless
	// tiebreaker nodes.
	Diskful, Tiebreakers []string
	// Quorum is "majority" (default) or "off".
	Quorum string
	// OnSuspendedPrimaryOutdated is DRBD's on-suspended-primary-outdated:
	// "disconnect" (default) or "force-secondary".
	OnSuspendedPrimaryOutdated string
	// Size of the volume; default 1Gi.
	Size string
}

// Resource is the DRBD resource name (the CSI volume handle) of the volume.
func (v Volume) Resource() string { return "pvc-" + v.Namespace + "-" + v.Claim }

// CreateVolume creates a replicated volume: the DRBD resource in the
// simulator and a PV/PVC pair bound to each other whose volume handle is the
// resource name, as LINSTOR's provisioner leaves them.
func (c *Cluster) CreateVolume(ctx context.Context, v Volume) error {
	if v.Size == "" {
		v.Size = "1Gi"
	}
	size, err := resource.ParseQuantity(v.Size)
	if err != nil {
		return fmt.Errorf("invalid volume size %q: %w", v.Size, err)
	}
	spec := drbdsim.ResourceSpec{Name: v.Resource(), Quorum: v.Quorum, OnSuspendedPrimaryOutdated: v.OnSuspendedPrimaryOutdated}
	for _, n := range v.Diskful {
		spec.Replicas = append(spec.Replicas, drbdsim.ReplicaSpec{Node: n, Kind: drbdsim.Diskful})
	}
	for _, n := range v.Tiebreakers {
		spec.Replicas = append(spec.Replicas, drbdsim.ReplicaSpec{Node: n, Kind: drbdsim.Tiebreaker})
	}
	if err := c.DRBD.AddResource(spec); err != nil {
		return fmt.Errorf("failed to create DRBD resource %s: %w", spec.Name, err)
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: v.Resource()},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              StorageClassName,
			ClaimRef:                      &corev1.ObjectReference{Namespace: v.Namespace, Name: v.Claim},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver:       metadata.DriverName,
				VolumeHandle: v.Resource(),
				FSType:       "ext4",
			}},
		},
	}
	if _, err := c.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("failed to create PV %s: %w", pv.Name, err)
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: v.Namespace, Name: v.Claim},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To(StorageClassName),
			VolumeName:       pv.Name,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}
	if _, err := c.Client.CoreV1().PersistentVolumeClaims(v.Namespace).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("failed to create PVC %s/%s: %w", v.Namespace, v.Claim, err)
	}
	return nil
}

// Attachment returns the VolumeAttachment of the PV pv, or nil when there is
// none.
func (c *Cluster) Attachment(ctx context.Context, pv string) (*storagev1.VolumeAttachment, error) {
	list, err := c.Client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for i := range list.Items {
		va := &list.Items[i]
		if ptr.Deref(va.Spec.Source.PersistentVolumeName, "") == pv {
			return va, nil
		}
	}
	return nil, nil
}
