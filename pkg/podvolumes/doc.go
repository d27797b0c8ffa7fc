// Package podvolumes is the one rule by which the webhook, the scheduler
// plugin and the CSI sidecar follow a pod to its claims, a claim to its
// PersistentVolume, and a PersistentVolume to its DRBD resource. The three
// parts read the cluster from different places (the webhook from a cache
// with an API server fallback, the scheduler from its listers, the sidecar
// from its informers), so the package only states the rule and reads
// through small lookup interfaces each caller implements over its own data
// source.
//
// A pod uses the claims named by its persistentVolumeClaim volumes and, for
// each generic ephemeral volume, the claim Kubernetes creates for it, named
// <pod name>-<volume name>.
//
// A claim belongs to the DRBD driver (metadata.DriverName) when:
//
//   - it is bound (spec.volumeName is set): its PersistentVolume is a CSI
//     volume of the DRBD driver, whatever the claim's storageClassName says,
//     since a bound claim never moves to another volume;
//   - it is unbound and its storageClassName names a StorageClass whose
//     provisioner is the DRBD driver;
//   - it is unbound and has no storageClassName at all (nil), and the
//     cluster's default StorageClass is provisioned by the DRBD driver. This
//     is what Kubernetes does: the DefaultStorageClass admission plugin sets
//     the default class on new claims, and the PersistentVolume controller
//     sets it retroactively on unbound claims created while there was no
//     default. The default is the class annotated
//     storageclass.kubernetes.io/is-default-class=true (or its beta
//     predecessor); with several, the newest wins, then the first by name.
//
// A claim with storageClassName "" asks for no class: Kubernetes binds it
// only to an existing PersistentVolume without a class and never provisions
// it, so it is ours only once bound to a PersistentVolume of the DRBD driver.
//
// The DRBD resource of a bound claim is its PersistentVolume's
// spec.csi.volumeHandle, when spec.csi.driver is the DRBD driver.
package podvolumes
