package podvolumes

import (
	storagev1 "k8s.io/api/storage/v1"
)

// AnnotationDefaultClass marks the StorageClass that claims without a
// storageClassName get.
const AnnotationDefaultClass = "storageclass.kubernetes.io/is-default-class"

// annotationBetaDefaultClass is AnnotationDefaultClass's beta predecessor,
// which Kubernetes still honours.
const annotationBetaDefaultClass = "storageclass.beta.kubernetes.io/is-default-class"

// IsDefaultClass reports whether sc is annotated as a default class.
func IsDefaultClass(sc *storagev1.StorageClass) bool {
	if sc == nil {
		return false
	}
	return sc.Annotations[AnnotationDefaultClass] == "true" || sc.Annotations[annotationBetaDefaultClass] == "true"
}

// DefaultClass returns the StorageClass Kubernetes gives a claim without a
// storageClassName, or nil when no class is a default. With several
// defaults it picks as Kubernetes' GetDefaultClass does: the newest, and
// among equally new ones the first by name, so that the answer does not
// depend on the order the caller's cache lists them in.
func DefaultClass(classes []*storagev1.StorageClass) *storagev1.StorageClass {
	var def *storagev1.StorageClass
	for _, sc := range classes {
		if !IsDefaultClass(sc) {
			continue
		}
		if def == nil || newer(sc, def) {
			def = sc
		}
	}
	return def
}

// newer reports whether a is preferred over b as the default class.
func newer(a, b *storagev1.StorageClass) bool {
	at, bt := a.CreationTimestamp.UnixNano(), b.CreationTimestamp.UnixNano()
	if at != bt {
		return at > bt
	}
	return a.Name < b.Name
}
