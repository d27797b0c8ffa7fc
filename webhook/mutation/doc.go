// Package mutation decides what the webhook changes in a pod that uses
// DRBD volumes: the scheduler, the not-ready and unreachable tolerations,
// a zone spread for the pods of one workload and a preferred affinity for
// the zones holding the volumes' data. It is pure: the facts it needs come
// in, the changed pod goes out.
package mutation
