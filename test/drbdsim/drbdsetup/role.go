package drbdsetup

func runPrimary(inv *invocation) int {
	force := inv.p.has("force") || inv.p.has("overwrite-data-of-peer")
	if err := inv.cluster.Primary(inv.node, inv.resource(), force); err != nil {
		return inv.fail(err)
	}
	return 0
}

func runSecondary(inv *invocation) int {
	if err := inv.cluster.Secondary(inv.node, inv.resource(), inv.p.has("force")); err != nil {
		return inv.fail(err)
	}
	return 0
}
