// Package replicas turns the nodes' replica reports into what placement
// needs: for each DRBD resource, which nodes hold a replica, in which zone,
// and whether that replica can serve the resource. The scheduler plugin and
// the webhook read it; the sidecars write the reports.
package replicas
