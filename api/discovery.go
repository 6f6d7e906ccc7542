package api

import "time"

// Files the daemon keeps in its data directory for clients to find it.
const (
	// TokenFile holds the bearer token (hex), readable by its owner only.
	TokenFile = "token"
	// DiscoveryFile holds a Discovery document while the daemon listens.
	DiscoveryFile = "api.json"
)

// Discovery is the content of DiscoveryFile: where the running daemon
// listens. It is written once the daemon accepts connections and removed
// when it exits cleanly.
type Discovery struct {
	URL       string    `json:"url"` // e.g. "http://127.0.0.1:8421"
	PID       int       `json:"pid"`
	Version   string    `json:"version,omitempty"`
	StartedAt time.Time `json:"startedAt,omitzero"`
}
