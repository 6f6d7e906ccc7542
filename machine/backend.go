package machine

import "context"

// Spec is what a backend needs to run one VM. The manager owns it and
// passes it on every call; backends keep whatever else they need to
// re-attach after a daemon restart in files under Dir.
type Spec struct {
	Name      string // VM name, unique per daemon
	Dir       string // the VM's own data directory (created by the manager)
	AgentPort int    // guest control API port on 127.0.0.1
	SocksPort int    // guest SOCKS5 port on 127.0.0.1
	Token     string // bearer token the agent must accept
}

// GuestState is what a backend observes of a guest.
type GuestState string

// Observed guest states.
const (
	GuestRunning GuestState = "running"
	GuestPaused  GuestState = "paused" // only when the kernel reports the guest frozen
	GuestStopped GuestState = "stopped"
)

// Status is a backend's view of one guest.
type Status struct {
	State  GuestState
	Reason string // why it is stopped, when known
}

// Backend runs guests for one kind of host (the Linux sandbox, WSL2).
//
// Every method must be safe to call again after it succeeded (stopping a
// stopped guest is not an error) and must leave nothing half-done when it
// fails. Errors are wrapped errdefs classes.
type Backend interface {
	// Available reports nil when this backend can run guests here, or an
	// errdefs.ErrUnavailable / ErrUnsupported error whose text tells the
	// user what is missing and how to fix it.
	Available(ctx context.Context) error
	// Start boots the guest (provisioning it first when needed) and
	// returns once its agent answers a ping with the spec's token.
	Start(ctx context.Context, s Spec) error
	// Stop asks the agent to shut down, then escalates to SIGTERM and
	// SIGKILL after a grace period.
	Stop(ctx context.Context, s Spec) error
	// Kill ends every guest process at once.
	Kill(ctx context.Context, s Spec) error
	// Pause freezes every guest process; Resume thaws them.
	Pause(ctx context.Context, s Spec) error
	Resume(ctx context.Context, s Spec) error
	// Status reports the true state of the guest, used on re-attach after
	// a daemon restart and by the health loop.
	Status(ctx context.Context, s Spec) (Status, error)
	// Delete removes the guest and everything it left: processes, mounts,
	// cgroups, registrations and files under s.Dir.
	Delete(ctx context.Context, s Spec) error
}
