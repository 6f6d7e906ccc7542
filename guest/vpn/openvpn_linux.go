package vpn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/internal/procwait"
)

// openvpnArgs are the command line: the profile first, then our mandatory
// options, which win over anything the profile says.
func (s *session) openvpnArgs(sock string) []string {
	args := []string{
		"--config", filepath.Join(s.dir, "profile.ovpn"),
		// openvpn connects to our socket, and exits if we go away.
		"--management", sock, "unix", "--management-client",
		"--management-hold", "--management-query-passwords", "--management-up-down",
		"--auth-retry", "nointeract",
		// A new tun device with a free name, whatever "dev tunN" the
		// profile asks for: openvpn running as root would otherwise attach
		// to an existing persistent device of that name, and the
		// supervisor would move the host's device away.
		"--dev", "tun", "--dev-type", "tun",
		// openvpn configures nothing: the supervisor sets the tun device
		// up inside the tunnel namespace.
		"--ifconfig-noexec", "--route-noexec",
		"--script-security", "1",
		"--verb", "3",
	}
	if s.req.Username != "" {
		args = append(args, "--auth-user-pass")
	}
	if !mentions(s.req.Config, "keepalive", "ping", "ping-restart", "ping-exit") {
		// Health: without a ping timer a dead UDP server goes unnoticed.
		// A server that pushes its own timers overrides these.
		args = append(args, "--ping", "10", "--ping-restart", "60")
	}
	return args
}

// tail keeps the last bytes of openvpn's output for error messages: what
// it prints before the management link is up (e.g. an options error) is
// lost otherwise.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if n := len(t.buf) - 2048; n > 0 {
		t.buf = append(t.buf[:0], t.buf[n:]...)
	}
	return len(p), nil
}

// last returns the last line of output.
func (t *tail) last() string {
	s := t.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// attempt runs one openvpn process until it exits, the session is stopped
// or the connection must be given up. openvpn's own restarts (ping-restart
// and the like) happen inside one attempt: each stops at a management hold
// that is released after the backoff delay.
func (s *session) attempt(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sock := filepath.Join(s.dir, "mgmt.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return fatal(fmt.Errorf("management socket: %w", err))
	}
	defer ln.Close()
	ln.SetUnlinkOnClose(true)

	out := &tail{}
	cmd := exec.CommandContext(ctx, s.sup.cfg.OpenVPN, s.openvpnArgs(sock)...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	stopOpener, err := s.startOpenVPN(cmd)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, exec.ErrNotFound) {
			return fatal(fmt.Errorf("start openvpn: %w: %w", err, errdefs.ErrUnavailable))
		}
		return fmt.Errorf("start openvpn: %w", err)
	}
	defer stopOpener()
	s.pid.Store(int64(cmd.Process.Pid))
	s.log.Info("vpn_openvpn_started", "pid", cmd.Process.Pid)
	exited := make(chan error, 1)
	go func() {
		procwait.Exited(cmd.Process.Pid)
		exited <- cmd.Wait()
	}()

	accepted := make(chan *net.UnixConn, 1)
	go func() {
		c, err := ln.AcceptUnix()
		if err != nil {
			c = nil
		}
		accepted <- c
	}()
	var conn *net.UnixConn
	select {
	case conn = <-accepted:
	case werr := <-exited:
		ln.Close()
		if c := <-accepted; c != nil {
			c.Close()
		}
		return fatal(fmt.Errorf("openvpn exited before its management link was up: %v: %s", werr, out))
	case <-ctx.Done():
		ln.Close()
		if c := <-accepted; c != nil {
			c.Close()
		}
		cancel()
		<-exited
		return ctx.Err()
	}
	if conn == nil {
		cancel()
		<-exited
		return errors.New("management socket: accept failed")
	}
	ln.Close()

	m := &mgmt{s: s, conn: conn, w: bufio.NewWriter(conn), out: out}
	msgs := make(chan mgmtMsg, 64)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(msgs)
		sc := bufio.NewScanner(conn)
		for sc.Scan() {
			msgs <- parseLine(sc.Text())
		}
	}()
	err = m.loop(ctx, msgs, exited, cancel)
	conn.Close()
	for range msgs { // unblock and wait for the reader
	}
	<-readerDone
	return err
}

// mgmt drives one management connection.
type mgmt struct {
	s    *session
	conn net.Conn
	w    *bufio.Writer
	out  *tail // openvpn's own output, for the exit error

	held    int               // holds seen
	updown  string            // UP or DOWN while a block is being read
	env     map[string]string // the block's variables
	failure error             // a fatal condition waiting for openvpn to exit
}

func (m *mgmt) send(cmds ...string) {
	for _, c := range cmds {
		m.w.WriteString(c + "\n")
	}
	// openvpn reads its management socket promptly; never let a stuck one
	// block the loop that watches it.
	m.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := m.w.Flush(); err != nil {
		m.s.log.Debug("vpn_management_write_failed", "err", err)
	}
}

// loop handles management messages until openvpn exits, and returns why
// the attempt ended.
func (m *mgmt) loop(ctx context.Context, msgs <-chan mgmtMsg, exited <-chan error, stop func()) error {
	s := m.s
	m.send("version 4", "log on all", "state on",
		"bytecount "+strconv.Itoa(int(s.sup.cfg.ByteCountInterval/time.Second)))
	var release <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			stop()
			<-exited
			if m.failure != nil {
				return m.failure
			}
			return ctx.Err()
		case werr := <-exited:
			if m.failure != nil {
				return m.failure
			}
			return fmt.Errorf("openvpn exited: %v: %s", werr, m.out.last())
		case <-release:
			release = nil
			m.send("hold release")
		case msg, ok := <-msgs:
			if !ok {
				msgs = nil // openvpn is exiting; wait for it
				continue
			}
			d, err := m.handle(msg)
			if d > 0 {
				release = time.After(d)
			}
			if err != nil && m.failure == nil {
				// Stop openvpn and report once it is gone.
				m.failure = err
				stop()
			}
		}
	}
}
