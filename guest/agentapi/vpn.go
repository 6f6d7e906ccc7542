package agentapi

import (
	"log/slog"
	"time"
)

// PathVPN is the agent's VPN endpoint:
//
//	GET    VPNStatus; with ?after=N&wait=30s it waits (at most a minute)
//	       until the status' Generation exceeds N, for event streams
//	PUT    VPNConnect: select a profile (connect, or switch from another);
//	       202 with the VPNStatus once openvpn was started
//	DELETE disconnect: 200 with the VPNStatus, state "disconnected"
//
// While a profile is selected the SOCKS5 proxy reaches targets only through
// the tunnel: when it is not up, connections fail with "network
// unreachable" and never go direct.
const PathVPN = "/agent/v1/vpn"

// VPNConnect selects a profile. Config is the rendered, already validated
// .ovpn text; credentials, when the profile needs them, are answered over
// openvpn's management socket and never written to disk or argv.
type VPNConnect struct {
	Profile  string `json:"profile"` // name, for status and logs
	Config   string `json:"config"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
}

// LogValue keeps the password and the profile's key material out of logs.
func (c VPNConnect) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("profile", c.Profile),
		slog.Int("config_bytes", len(c.Config)),
		slog.Bool("credentials", c.Username != "" || c.Password != ""),
	)
}

// VPNState is where the agent's tunnel is.
type VPNState string

const (
	VPNDisconnected VPNState = "disconnected" // no profile selected: the proxy goes direct
	VPNConnecting   VPNState = "connecting"   // selected, first connection in progress
	VPNConnected    VPNState = "connected"    // the proxy goes through the tunnel
	VPNReconnecting VPNState = "reconnecting" // the tunnel dropped; retrying with backoff
	VPNFailed       VPNState = "failed"       // given up (e.g. authentication failed); see LastError
)

// VPNStatus describes the tunnel. Secrets never appear in it.
type VPNStatus struct {
	State      VPNState  `json:"state"`
	Profile    string    `json:"profile,omitempty"`
	TunnelIPv4 string    `json:"tunnelIPv4,omitempty"`
	TunnelIPv6 string    `json:"tunnelIPv6,omitempty"`
	Server     string    `json:"server,omitempty"` // remote ip:port of the current connection
	DNS        []string  `json:"dns,omitempty"`    // resolvers used for proxied names
	Since      time.Time `json:"since"`            // when State was entered
	BytesIn    int64     `json:"bytesIn"`          // from the server, this connection
	BytesOut   int64     `json:"bytesOut"`
	Retries    int       `json:"retries"` // reconnect attempts since the tunnel was last healthy
	LastError  string    `json:"lastError,omitempty"`
	// Generation grows with every published change (not with byte
	// counts); a watcher asks for changes after the one it has seen.
	Generation uint64 `json:"generation"`
}
