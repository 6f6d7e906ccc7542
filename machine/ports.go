package machine

import (
	"fmt"
	"net"
)

// allocatePorts picks the agent and SOCKS ports of a new VM. The VM named
// "default" always gets 1025/1080 (what Velocitty and scripts expect);
// others get two ports that are free now and not remembered by any other
// record, so they stay theirs across restarts.
func allocatePorts(name string, taken map[int]bool) (agent, socks int, err error) {
	if name == DefaultVMName {
		return DefaultAgentPort, DefaultSocksPort, nil
	}
	reserved := map[int]bool{DefaultAgentPort: true, DefaultSocksPort: true}
	pick := func() (int, error) {
		for range 64 {
			p, err := freePort()
			if err != nil {
				return 0, err
			}
			if !taken[p] && !reserved[p] {
				reserved[p] = true
				return p, nil
			}
		}
		return 0, fmt.Errorf("no free loopback port found")
	}
	if agent, err = pick(); err != nil {
		return 0, 0, fmt.Errorf("allocate agent port: %w", err)
	}
	if socks, err = pick(); err != nil {
		return 0, 0, fmt.Errorf("allocate SOCKS port: %w", err)
	}
	return agent, socks, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
