package server

// The trailers that end the response to an exec request.
const (
	TrailerExitCode = "Drbdsim-Exit-Code"
	TrailerStderr   = "Drbdsim-Stderr"
)

// ExecRequest runs a drbdsetup command line on a node.
type ExecRequest struct {
	Node string `json:"node"`
	// Args are drbdsetup's arguments, without the program name.
	Args []string `json:"args"`
}

// NodeRequest adds a node.
type NodeRequest struct {
	Name string `json:"name"`
}

// PartitionRequest names the two sides of a cut (or of a heal).
type PartitionRequest struct {
	A []string `json:"a"`
	B []string `json:"b"`
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Error string `json:"error"`
	// Code names errors that callers handle: CodeCloseBlocked.
	Code string `json:"code,omitempty"`
}

// CodeCloseBlocked is the code of a close that waits for frozen I/O
// (drbdsim.ErrCloseBlocked): the close stays pending.
const CodeCloseBlocked = "close-blocked"
