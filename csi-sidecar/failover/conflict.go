package failover

// holdForConflictingActors holds back every action of d while another
// fail-over actor runs. Each actor acts on its own evidence, so with two
// the argument that only the minority side of a split loses its pods no
// longer holds: one may delete the pods that the other just moved. Untaints
// are held too, since Piraeus' HA controller sets the same taint keys.
// Everything else of the decision stays: the lost peers keep their first
// sighting, so a fail-over that is due goes ahead as soon as the other
// actor is gone, and refusals and notices are still said.
func holdForConflictingActors(in *Input, d *Decision) {
	if len(in.ConflictingActors) == 0 {
		return
	}
	d.ConflictingActors = in.ConflictingActors
	d.Held, d.Actions = d.Actions, nil
}
