package vpn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/vishvananda/netlink"
)

// session is one selected profile: a runtime dir, a tunnel namespace and a
// loop that keeps openvpn running until stopped or given up.
type session struct {
	sup    *Supervisor
	req    agentapi.VPNConnect
	log    *slog.Logger
	dir    string
	ns     *tunnelNS
	mainNL *netlink.Handle
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	pid         atomic.Int64 // of the current openvpn, for tests and logs
	conns       conns        // made through the tunnel; closed at the end
	bo          backoff
	retries     int
	everUp      bool
	connectedAt time.Time
	tun         *tunConfig // from the last >UPDOWN:UP
}

// errAuthFailed ends a session: retrying the same credentials cannot help.
var errAuthFailed = errors.New("authentication failed: the server rejected the username or password")

func newSession(sup *Supervisor, req agentapi.VPNConnect) (*session, error) {
	s := &session{
		sup:  sup,
		req:  req,
		log:  sup.log.With("profile", req.Profile),
		done: make(chan struct{}),
		bo:   backoff{min: sup.cfg.MinBackoff, max: sup.cfg.MaxBackoff},
	}
	var err error
	if s.dir, err = os.MkdirTemp(sup.cfg.RuntimeDir, "openvpn-"); err != nil { // 0700
		return nil, fmt.Errorf("runtime dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "profile.ovpn"), []byte(req.Config), 0o600); err != nil {
		s.cleanup()
		return nil, fmt.Errorf("write profile: %w", err)
	}
	if agentNSErr != nil {
		s.cleanup()
		return nil, fmt.Errorf("open agent network namespace: %w", agentNSErr)
	}
	if s.mainNL, err = netlink.NewHandleAt(agentNS); err != nil {
		s.cleanup()
		return nil, fmt.Errorf("netlink: %w", err)
	}
	if s.ns, err = newTunnelNS(); err != nil {
		s.cleanup()
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

func (s *session) start() { go s.run() }

// stop ends the session and waits until openvpn is gone and everything
// the session made is removed.
func (s *session) stop() {
	s.cancel()
	<-s.done
}

func (s *session) cleanup() {
	s.conns.closeAll()
	if s.ns != nil {
		s.ns.Close()
	}
	if s.mainNL != nil {
		s.mainNL.Close()
	}
	os.RemoveAll(s.dir)
}

func (s *session) run() {
	defer close(s.done)
	defer s.cleanup()
	for {
		err := s.attempt(s.ctx)
		if s.ctx.Err() != nil {
			return
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			s.log.Error("vpn_failed", "err", err)
			s.sup.update(s, func(st *agentapi.VPNStatus, r **route) {
				*r = nil
				st.State = agentapi.VPNFailed
				st.LastError = err.Error()
			})
			return
		}
		s.log.Warn("vpn_openvpn_ended", "err", err)
		s.down(err.Error())
		if !s.bo.wait(s.ctx) {
			return
		}
	}
}

// fatalError ends a session without retrying.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func fatal(err error) error { return &fatalError{err} }

// down records a dropped tunnel: traffic stops at once (the kill switch),
// and the attempt counts as a retry. A connection that stayed up long
// enough resets the backoff first.
func (s *session) down(reason string) {
	if !s.connectedAt.IsZero() && time.Since(s.connectedAt) >= s.sup.cfg.HealthyAfter {
		s.bo.reset()
		s.retries = 0
	}
	s.connectedAt = time.Time{}
	s.retries++
	state := agentapi.VPNConnecting
	if s.everUp {
		state = agentapi.VPNReconnecting
	}
	s.sup.update(s, func(st *agentapi.VPNStatus, r **route) {
		*r = nil
		st.State = state
		st.Retries = s.retries
		st.LastError = reason
		st.TunnelIPv4, st.TunnelIPv6, st.Server, st.DNS = "", "", "", nil
		st.BytesIn, st.BytesOut = 0, 0
	})
}

// up records a tunnel that openvpn reports connected and that configure
// set up in the namespace.
func (s *session) up(c tunConfig) {
	s.everUp = true
	s.connectedAt = time.Now()
	rt := newRoute(s.dial, c.dns, c.local4.IsValid(), c.local6.IsValid())
	s.sup.update(s, func(st *agentapi.VPNStatus, r **route) {
		*r = rt
		st.State = agentapi.VPNConnected
		st.Retries = s.retries
		st.TunnelIPv4, st.TunnelIPv6 = "", ""
		if c.local4.IsValid() {
			st.TunnelIPv4 = c.local4.Addr().String()
		}
		if c.local6.IsValid() {
			st.TunnelIPv6 = c.local6.Addr().String()
		}
		st.Server = ""
		if c.server.IsValid() {
			st.Server = c.server.String()
		}
		st.DNS = nil
		for _, d := range c.dns {
			st.DNS = append(st.DNS, d.String())
		}
	})
}

// dial connects through the tunnel and tracks the connection. A
// connection may outlive a reconnect: the tun device comes back into the
// same namespace, often with the same address.
func (s *session) dial(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
	c, err := s.ns.dial(ctx, network, ap)
	if err != nil {
		return nil, err
	}
	return s.conns.add(c), nil
}

// connected handles >STATE CONNECTED: the tunnel configuration comes from
// the last >UPDOWN:UP (absent after a persist-tun restart, which keeps the
// device configured), with the addresses the state line reports.
func (s *session) connected(st stateMsg) error {
	if s.tun == nil {
		return errors.New("connected without tunnel parameters")
	}
	c := *s.tun
	if st.local4.IsValid() && st.local4 != c.local4.Addr() {
		c.local4 = netip.PrefixFrom(st.local4, c.local4.Bits())
	}
	if st.local6.IsValid() && st.local6 != c.local6.Addr() {
		c.local6 = netip.PrefixFrom(st.local6, c.local6.Bits())
	}
	if st.remote.IsValid() {
		c.server = st.remote
	}
	start := time.Now()
	if err := s.ns.configure(s.mainNL, c); err != nil {
		return fmt.Errorf("configure tunnel: %w", err)
	}
	s.log.Debug("vpn_tunnel_configured", "dev", c.dev, "took", time.Since(start).String())
	s.tun = &c
	s.up(c)
	return nil
}

var errNoCredentials = fmt.Errorf("the profile needs a username and password: %w", errdefs.ErrInvalid)
