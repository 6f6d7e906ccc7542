package linuxvm

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/velocitty/microvm/guest/agentclient"
)

// oneShot sends the backend's few agent calls without keeping idle
// connections: they are rare (start, stop, status).
var oneShot = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// agentAt returns a client of the agent listening on port. The box shares
// the host's network, so the agent's 127.0.0.1 is the host's.
func agentAt(port int, token string) *agentclient.Client {
	return agentclient.New(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), token, agentclient.WithHTTPClient(oneShot))
}
