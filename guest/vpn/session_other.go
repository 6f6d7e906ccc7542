//go:build !linux

package vpn

import (
	"fmt"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
)

// session needs Linux network namespaces; elsewhere Connect fails.
type session struct{}

func newSession(*Supervisor, agentapi.VPNConnect) (*session, error) {
	return nil, fmt.Errorf("vpn tunnel namespaces need Linux: %w", errdefs.ErrUnsupported)
}

func (*session) start() {}
func (*session) stop()  {}
