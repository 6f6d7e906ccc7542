// Package agentapi is the wire contract of the guest agent's control API:
// paths, request and response types, and the shell websocket framing. The
// agent serves it and the daemon speaks it; it imports nothing of either.
package agentapi

import "time"

// Version identifies an agent build. It is set at link time
// (-ldflags "-X github.com/velocitty/microvm/guest/agentapi.Version=...")
// from a hash of the agent's sources, so the daemon redeploys the agent
// whenever the binary it ships differs from the one a guest runs.
var Version = "dev"

// Paths of the control API. Every request carries
// "Authorization: Bearer <token>".
const (
	PathPing     = "/agent/v1/ping"     // GET: 204 when alive and authorized
	PathInfo     = "/agent/v1/info"     // GET: Info
	PathExec     = "/agent/v1/exec"     // POST ExecRequest: ExecResult
	PathShell    = "/agent/v1/shell"    // GET websocket; query argv (repeated), cols, rows
	PathLogs     = "/agent/v1/logs"     // GET ?since=<RFC3339Nano>&limit=N: []LogEntry
	PathShutdown = "/agent/v1/shutdown" // POST: 202, then the agent exits 0
)

// Default ports on the guest's 127.0.0.1.
const (
	DefaultControlPort = 1025
	DefaultSocksPort   = 1080
)

// Info describes a running agent.
type Info struct {
	Version       string    `json:"version"`
	Hostname      string    `json:"hostname"`
	Kernel        string    `json:"kernel"`
	PID           int       `json:"pid"`
	StartedAt     time.Time `json:"startedAt"`
	UptimeSeconds float64   `json:"uptimeSeconds"`
}

// ExecRequest runs one program in the guest. Argv is executed directly,
// never through a shell.
type ExecRequest struct {
	Argv           []string `json:"argv"`
	Stdin          string   `json:"stdin,omitempty"`
	Env            []string `json:"env,omitempty"` // KEY=VALUE, added to a minimal default environment
	Dir            string   `json:"dir,omitempty"`
	TimeoutSeconds int      `json:"timeoutSeconds,omitempty"` // 0: the agent's default
}

// ExecResult is what a finished program left. Output beyond the agent's
// cap is dropped and flagged.
type ExecResult struct {
	ExitCode        int    `json:"exitCode"`         // -1 when killed by a signal
	Signal          string `json:"signal,omitempty"` // e.g. "killed"
	TimedOut        bool   `json:"timedOut,omitempty"`
	Stdout          string `json:"stdout"`
	Stderr          string `json:"stderr"`
	StdoutTruncated bool   `json:"stdoutTruncated,omitempty"`
	StderrTruncated bool   `json:"stderrTruncated,omitempty"`
	DurationMillis  int64  `json:"durationMillis"`
}

// LogEntry is one line of the agent's in-memory log ring.
type LogEntry struct {
	Time    time.Time `json:"time"`
	Level   string    `json:"level"`  // debug, info, warn, error
	Source  string    `json:"source"` // "agent", "vpn", ...
	Message string    `json:"message"`
}

// Error is the JSON body of every non-2xx agent answer.
type Error struct {
	Code    string `json:"code"` // stable: unauthorized, invalid, not_found, ...
	Message string `json:"message"`
}

// Shell websocket framing: binary frames whose first byte is the channel.
const (
	ShellSubprotocol = "microvm.shell.v1"

	ChannelStdin  byte = 0 // client → agent: raw bytes for the PTY
	ChannelOutput byte = 1 // agent → client: raw PTY output
	ChannelStatus byte = 3 // agent → client: ShellStatus JSON, then close
	ChannelResize byte = 4 // client → agent: ShellResize JSON
)

// ShellStatus is sent on ChannelStatus when the shell's process ended.
type ShellStatus struct {
	ExitCode int    `json:"exitCode"`
	Signal   string `json:"signal,omitempty"`
	Reason   string `json:"reason,omitempty"` // e.g. "vm stopped"
}

// ShellResize is sent on ChannelResize.
type ShellResize struct {
	Cols uint16 `json:"cols"`
	Rows uint16 `json:"rows"`
}

// Error codes of Error.Code. Each goes with one HTTP status.
const (
	CodeInvalid          = "invalid"            // 400
	CodeUnauthorized     = "unauthorized"       // 401
	CodeNotFound         = "not_found"          // 404
	CodeMethodNotAllowed = "method_not_allowed" // 405
	CodeTooLarge         = "too_large"          // 413
	CodeInternal         = "internal"           // 500
	CodeUnavailable      = "unavailable"        // 503
)

// Query parameters of PathShell and PathLogs.
const (
	QueryArgv  = "argv"  // repeated, one per argument
	QueryCols  = "cols"  // initial terminal width
	QueryRows  = "rows"  // initial terminal height
	QuerySince = "since" // RFC 3339 time; entries strictly after it
	QueryLimit = "limit" // at most this many, the newest
)
