package vpn

import (
	"fmt"
	"os/exec"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// startOpenVPN starts cmd, where it can from a filtered thread so that
// openvpn makes its tun device inside the tunnel namespace (see
// seccomp_linux.go). The returned func stops answering openvpn's open
// calls; call it once openvpn has exited.
func (s *session) startOpenVPN(cmd *exec.Cmd) (stop func(), err error) {
	if s.sup.cfg.MoveTun || s.sup.filterBroken.Load() {
		return func() {}, cmd.Start()
	}
	type result struct {
		stop      func()
		err       error
		filterErr error
	}
	done := make(chan result, 1)
	go func() {
		// Never unlocked: the filter stays with this thread, which ends
		// with this goroutine instead of running others.
		runtime.LockOSThread()
		listener, ferr := installFilter()
		if ferr != nil {
			done <- result{stop: func() {}, err: cmd.Start(), filterErr: ferr}
			return
		}
		o, err := newTunOpener(listener, s.ns, s.log)
		if err != nil {
			unix.Close(listener)
			done <- result{err: fmt.Errorf("start openvpn: %w", err)}
			return
		}
		// The opener answers before cmd.Start runs, in case anything on
		// this thread opens a file read-write from here on.
		var wg sync.WaitGroup
		wg.Go(o.serve)
		stop := func() { o.stop(); wg.Wait() }
		if err := cmd.Start(); err != nil {
			stop()
			done <- result{err: err}
			return
		}
		done <- result{stop: stop}
	}()
	r := <-done
	if r.filterErr != nil {
		// Never again: later connects start openvpn directly.
		s.sup.filterBroken.Store(true)
		s.log.Info("vpn_tun_moved_after_open", "why", r.filterErr.Error())
	}
	return r.stop, r.err
}
