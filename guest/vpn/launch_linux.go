package vpn

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// launch is one start of openvpn through the launcher (see
// launcher_linux.go); the zero value starts openvpn directly.
type launch struct {
	s      *session
	parent int      // our end of the socket the listener arrives on
	child  *os.File // the launcher's end, its fd 3
}

// viaLauncher rewrites cmd to start openvpn through the launcher when the
// supervisor has one and it has not failed before.
func (s *session) viaLauncher(cmd *exec.Cmd) (*launch, error) {
	if s.sup.cfg.Launcher == "" || s.sup.launcherBroken.Load() {
		return &launch{}, nil
	}
	if _, err := exec.LookPath(cmd.Path); err != nil {
		// Started directly, this fails with the error a user can act on.
		return &launch{}, nil
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("launcher socket: %w", err)
	}
	cmd.Args = append([]string{cmd.Path}, cmd.Args[1:]...)
	cmd.Path = s.sup.cfg.Launcher
	cmd.Env = append(os.Environ(), LauncherEnv+"=1")
	child := os.NewFile(uintptr(fds[1]), "launcher")
	cmd.ExtraFiles = []*os.File{child}
	return &launch{s: s, parent: fds[0], child: child}, nil
}

// abort releases the socket after a failed start.
func (l *launch) abort() {
	if l.s == nil {
		return
	}
	l.child.Close()
	unix.Close(l.parent)
}

// started receives the launcher's listener and starts answering openvpn's
// open calls. The returned func stops that; call it once openvpn is gone.
func (l *launch) started() (stop func(), err error) {
	if l.s == nil {
		return func() {}, nil
	}
	l.child.Close()
	defer unix.Close(l.parent)
	listener, err := receiveListener(l.parent, 10*time.Second)
	if err != nil {
		// Never again: later attempts start openvpn directly.
		l.s.sup.launcherBroken.Store(true)
		return nil, fmt.Errorf("start openvpn: %w", err)
	}
	if listener < 0 {
		l.s.log.Info("vpn_tun_moved_after_open", "why", "no seccomp listener")
		return func() {}, nil
	}
	o, err := newTunOpener(listener, l.s.ns, l.s.log)
	if err != nil {
		unix.Close(listener)
		l.s.sup.launcherBroken.Store(true)
		return nil, err
	}
	var wg sync.WaitGroup
	wg.Go(o.serve)
	return func() { o.stop(); wg.Wait() }, nil
}
