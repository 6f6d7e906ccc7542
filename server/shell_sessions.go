package server

import (
	"context"
	"sync"
)

// ShellSessions wraps the ShellAgents of Config.Shells and keeps count of
// the shells being relayed, so that a daemon can wait for them when it
// stops: http.Server.Shutdown does not wait for upgraded connections,
// and each shell still has its last status frame to send.
type ShellSessions struct {
	agents ShellAgents

	mu      sync.Mutex
	closing bool
	wg      sync.WaitGroup
}

// NewShellSessions returns a ShellAgents for Config.Shells that counts the
// shells relayed through it.
func NewShellSessions(agents ShellAgents) *ShellSessions {
	return &ShellSessions{agents: agents}
}

// AgentEndpoint implements ShellAgents.
func (s *ShellSessions) AgentEndpoint(ctx context.Context, name string) (addr, token string, err error) {
	return s.agents.AgentEndpoint(ctx, name)
}

// Wait refuses new shells and waits for those in progress to end. Cancel
// the requests' context first (the server's shutdown), or Wait lasts as
// long as the shells do.
func (s *ShellSessions) Wait() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.wg.Wait()
}

// begin counts a new shell; done must be called when it ends. It fails
// once Wait has been called.
func (s *ShellSessions) begin() (done func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, false
	}
	s.wg.Add(1)
	return s.wg.Done, true
}
