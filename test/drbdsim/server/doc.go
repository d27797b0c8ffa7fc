// Package server serves a simulated DRBD cluster over HTTP on a unix
// socket: it runs drbdsetup command lines for the drbdsetup stand-in binary
// and offers a small control API to tests and to the drbdsim command.
//
// Running a command: POST /v1/exec with {"node": "...", "args": [...]}
// answers 200 and streams the command's standard output as the body, one
// flush per line, then reports the exit code and the standard error in the
// HTTP trailers Drbdsim-Exit-Code (decimal) and Drbdsim-Stderr (standard
// base64). A body that ends without these trailers means the stream broke.
// A request the server cannot run at all is answered 4xx with an error.
//
// Control (JSON bodies; errors are {"error": "..."} with 400 for invalid
// input, 404 for unknown nodes or resources, 409 for refused changes, 503
// once the cluster is closed). A close of a device whose I/O is frozen is
// answered 409 with "code": "close-blocked": the close is pending and
// completes by itself once I/O resumes or fails (drbdsim.ErrCloseBlocked);
// an open meanwhile gets the same answer.
//
//	POST   /v1/nodes                                {"name": "a"}
//	POST   /v1/nodes/{node}/crash
//	POST   /v1/nodes/{node}/restart
//	POST   /v1/resources                            a drbdsim.ResourceSpec
//	DELETE /v1/resources/{resource}
//	POST   /v1/resources/{resource}/replicas/{node}/{open|close|down|up}
//	POST   /v1/partition                            {"a": [...], "b": [...]}
//	POST   /v1/heal                                 {} or {"a": [...], "b": [...]}
//	GET    /v1/state                                a drbdsim.ClusterState
package server
