// Package vpn is the guest agent's VPN supervisor. It runs openvpn for a
// selected profile, drives it over the management interface (credentials,
// hold release, state, byte counts, logs), moves the tun device into a
// private network namespace as soon as the tunnel is up, and reconnects with
// backoff when the tunnel drops.
//
// Proxied connections and their name lookups go through the Supervisor: with
// no profile selected they are made directly; with one selected they are
// made from inside the tunnel namespace, whose only route is the tun device,
// and fail fast with ENETUNREACH while the tunnel is down. openvpn itself
// runs in the agent's namespace with --ifconfig-noexec --route-noexec, so
// the host's routes and resolver never change.
package vpn
