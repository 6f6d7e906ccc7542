package sandbox

// Config describes a box to start.
type Config struct {
	// ID names the box uniquely on this host; it names the box's cgroup.
	// Letters, digits, '.', '_' and '-' only.
	ID string
	// RootFS is the unpacked, writable root file system of the box.
	RootFS string
	// Hostname is the box's host name (default: ID).
	Hostname string
	// Argv runs as PID 1 inside the box. A relative argv[0] is looked up
	// in the box's PATH (from Env, or a default).
	Argv []string
	// Env is the environment of Argv.
	Env []string
	// LogPath, when set, receives the box init's stdout and stderr
	// (appended; created 0600).
	LogPath string
}

// Ref identifies a running box across restarts of the process that
// started it. Persist it and pass it to Attach.
type Ref struct {
	PID       int    `json:"pid"`              // host PID of the box's PID 1
	StartTime uint64 `json:"startTime"`        // its start time, /proc/PID/stat field 22
	Cgroup    string `json:"cgroup,omitempty"` // the box's cgroup directory
}
