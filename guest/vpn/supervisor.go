package vpn

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
)

// Config configures a Supervisor. The zero value works on Linux as root.
type Config struct {
	OpenVPN    string // openvpn binary; default /usr/sbin/openvpn
	RuntimeDir string // parent of per-connection 0700 dirs; default os.TempDir()
	// Logger receives openvpn's log and the supervisor's own records; the
	// agent passes one tagged with source "vpn". Never gets a secret.
	Logger *slog.Logger
	// OnStatus is called after every state change, in order, from the
	// goroutine that made it. It must not call Connect or Disconnect.
	OnStatus func(agentapi.VPNStatus)
	// Reconnect backoff bounds (default 1s and 30s) and the connected time
	// after which the backoff and the retry count start over (default 30s).
	MinBackoff, MaxBackoff time.Duration
	HealthyAfter           time.Duration
	// ByteCountInterval is how often openvpn reports byte counts, in whole
	// seconds (default 5).
	ByteCountInterval time.Duration
	// MoveTun makes openvpn create its tun device in the agent's
	// namespace, to be moved into the tunnel namespace: what happens
	// anyway where seccomp notification is unavailable (for tests).
	MoveTun bool
}

// Supervisor runs at most one VPN connection and routes the proxy's
// connections: directly with no profile selected, through the tunnel
// namespace with one. It also implements the SOCKS5 server's upstream
// (DialContext and Resolve).
type Supervisor struct {
	cfg    Config
	log    *slog.Logger
	direct net.Dialer

	op    sync.Mutex // serializes Connect and Disconnect
	pubMu sync.Mutex // orders OnStatus calls

	// filterBroken is set once the seccomp filter could not be
	// installed; later connects start openvpn without trying again.
	filterBroken atomic.Bool

	mu      sync.Mutex
	status  agentapi.VPNStatus
	sess    *session // the selected profile; nil: direct
	route   *route   // set while the tunnel is up
	changed chan struct{}
}

// New returns an idle Supervisor: no profile selected, direct routing.
func New(cfg Config) *Supervisor {
	if cfg.OpenVPN == "" {
		cfg.OpenVPN = "/usr/sbin/openvpn"
	}
	if cfg.RuntimeDir == "" {
		cfg.RuntimeDir = os.TempDir()
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if cfg.HealthyAfter <= 0 {
		cfg.HealthyAfter = 30 * time.Second
	}
	if cfg.ByteCountInterval < time.Second {
		cfg.ByteCountInterval = 5 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Supervisor{
		cfg: cfg,
		log: log,
		// No TCP keepalive, as for the proxy's own direct dials: the
		// client (an SSH client, typically) has its own, and setting it
		// up costs four system calls per connection.
		direct:  net.Dialer{KeepAlive: -1},
		status:  agentapi.VPNStatus{State: agentapi.VPNDisconnected, Since: time.Now()},
		changed: make(chan struct{}),
	}
}

// Connect selects a profile: it stops the current connection, if any, and
// starts openvpn for req. It returns once openvpn runs; follow the state
// with Status, Changed or Config.OnStatus. From now until Disconnect the
// proxy reaches targets only through this tunnel.
func (s *Supervisor) Connect(ctx context.Context, req agentapi.VPNConnect) error {
	if err := validate(req); err != nil {
		return err
	}
	s.op.Lock()
	defer s.op.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vpn connect %s: %w", req.Profile, err)
	}
	old := s.swap(nil, agentapi.VPNStatus{State: agentapi.VPNConnecting, Profile: req.Profile})
	if old != nil {
		old.stop()
	}
	sess, err := newSession(s, req)
	if err != nil {
		s.swap(nil, agentapi.VPNStatus{State: agentapi.VPNFailed, Profile: req.Profile, LastError: err.Error()})
		return fmt.Errorf("vpn connect %s: %w", req.Profile, err)
	}
	s.mu.Lock()
	s.sess = sess
	s.mu.Unlock()
	sess.start()
	return nil
}

// Disconnect stops the tunnel and deselects the profile: the proxy goes
// direct again. Disconnecting when idle is harmless.
func (s *Supervisor) Disconnect(ctx context.Context) error {
	s.op.Lock()
	defer s.op.Unlock()
	if old := s.swap(nil, agentapi.VPNStatus{State: agentapi.VPNDisconnected}); old != nil {
		old.stop()
	}
	return nil
}

// Close disconnects. The Supervisor stays usable.
func (s *Supervisor) Close() error { return s.Disconnect(context.Background()) }

// swap installs a new selection and status and returns the old session.
// A nil session with a non-disconnected state still selects a profile:
// dials fail fast until the new session is in place.
func (s *Supervisor) swap(sess *session, st agentapi.VPNStatus) *session {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	s.mu.Lock()
	old := s.sess
	s.sess = sess
	s.route = nil
	st.Since = time.Now()
	st.Generation = s.status.Generation + 1
	s.status = st
	snap := s.snapshotLocked()
	s.mu.Unlock()
	s.publish(snap)
	return old
}

// update changes the status on behalf of sess, unless sess was replaced.
func (s *Supervisor) update(sess *session, f func(st *agentapi.VPNStatus, r **route)) {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	s.mu.Lock()
	if s.sess != sess {
		s.mu.Unlock()
		return
	}
	prev := s.status.State
	f(&s.status, &s.route)
	if s.status.State != prev {
		s.status.Since = time.Now()
	}
	s.status.Generation++
	snap := s.snapshotLocked()
	s.mu.Unlock()
	s.publish(snap)
}

// setBytes records byte counts without publishing a change.
func (s *Supervisor) setBytes(sess *session, in, out int64) {
	s.mu.Lock()
	if s.sess == sess {
		s.status.BytesIn, s.status.BytesOut = in, out
	}
	s.mu.Unlock()
}

func (s *Supervisor) publish(st agentapi.VPNStatus) {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	s.log.Info("vpn_status", "state", st.State, "profile", st.Profile, "retries", st.Retries, "last_error", st.LastError)
	if s.cfg.OnStatus != nil {
		s.cfg.OnStatus(st)
	}
}

func (s *Supervisor) snapshotLocked() agentapi.VPNStatus {
	st := s.status
	st.DNS = slices.Clone(st.DNS)
	return st
}

// Status returns the current status.
func (s *Supervisor) Status() agentapi.VPNStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotLocked()
}

// Changed returns a channel closed at the next status change.
func (s *Supervisor) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// UnreachableError is the kill switch at work: a profile is selected but
// its tunnel is not up, so the connection is refused rather than made
// directly. It matches syscall.ENETUNREACH (SOCKS5 "network unreachable")
// and errdefs.ErrUnavailable.
type UnreachableError struct {
	Profile string
	State   agentapi.VPNState
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("vpn %q is %s: no route until the tunnel is up", e.Profile, e.State)
}

// Unwrap lets errors.Is match both classes.
func (e *UnreachableError) Unwrap() []error {
	return []error{syscall.ENETUNREACH, errdefs.ErrUnavailable}
}

// current returns the routing decision for one connection.
func (s *Supervisor) current() (selected bool, r *route, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status.State == agentapi.VPNDisconnected {
		return false, nil, nil
	}
	if s.route == nil {
		return true, nil, &UnreachableError{Profile: s.status.Profile, State: s.status.State}
	}
	return true, s.route, nil
}

// DialContext connects to address ("host:port"): directly with no profile
// selected, from inside the tunnel namespace while it is up, and not at all
// (UnreachableError) otherwise. Host names are resolved with Resolve.
func (s *Supervisor) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	selected, r, err := s.current()
	if !selected {
		return s.direct.DialContext(ctx, network, address)
	}
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("dial %s: bad port: %w", address, errdefs.ErrInvalid)
	}
	addrs := []netip.Addr{}
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = append(addrs, ip)
	} else if addrs, err = r.lookup(ctx, host); err != nil {
		return nil, err
	}
	var first error
	for _, a := range addrs {
		c, err := r.dial(ctx, network, netip.AddrPortFrom(a, uint16(port)))
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// Resolve looks host up the way DialContext would reach it: with the
// system resolver when no profile is selected, with the tunnel's DNS
// servers from inside the tunnel while it is up, and not at all otherwise.
func (s *Supervisor) Resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	selected, r, err := s.current()
	if !selected {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	if err != nil {
		return nil, err
	}
	return r.lookup(ctx, host)
}
