//go:build linux

package wslemu

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/velocitty/microvm/internal/atomicfile"
	"golang.org/x/sys/unix"
)

// An instance is a running distribution: a PID 1 of the emulator's own
// (the role of WSL's init) in new mount, PID, UTS and IPC namespaces,
// chrooted into the distribution's root file system, with the host
// network shared. Clients ask it over a socket to start their programs
// (relay.go). Killing it ends every process of the distribution at once,
// as --terminate does.
type instance struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"` // start time, guards against PID reuse
}

// initRole is the hidden first argument that makes the emulator a
// distribution's init.
const initRole = "__wslemu-init"

// procStart returns the start time of pid, false when it is gone or a
// zombie.
func procStart(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, false
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	return v, err == nil
}

// running returns the live instance of name. Call with the lock held.
func (s *store) running(name string) (instance, bool) {
	var in instance
	b, err := os.ReadFile(s.runFile(name))
	if err != nil || json.Unmarshal(b, &in) != nil {
		return in, false
	}
	if st, ok := procStart(in.PID); !ok || st != in.Start {
		os.Remove(s.runFile(name))
		return in, false
	}
	return in, true
}

// idleTimeout is general.instanceIdleTimeout: 15 s by default, negative
// for never (the reference's lifecycle semantics).
func idleTimeout() time.Duration {
	if v, err := strconv.Atoi(os.Getenv(EnvIdle)); err == nil {
		return time.Duration(v) * time.Millisecond
	}
	return 15 * time.Second
}

// ensureRunning starts the instance of d unless it runs. Call with the
// lock held. The init is not waited for by this process beyond its
// start: it outlives the client that started it.
func (s *store) ensureRunning(d distro) (instance, error) {
	if in, ok := s.running(d.Name); ok {
		return in, nil
	}
	switch os.Getenv(EnvFault) {
	case "no-virtualization", "wsl1-only":
		return instance{}, errf("Wsl/Service/CreateInstance/CreateVm/HCS/HCS_E_HYPERV_NOT_INSTALLED", msgEnableVirt)
	}
	os.Remove(s.sockFile(d.Name))
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: s.sockFile(d.Name), Net: "unixpacket"})
	if err != nil {
		return instance{}, err
	}
	ln.SetUnlinkOnClose(false) // the socket is the init's now
	defer ln.Close()
	sock, err := ln.File()
	if err != nil {
		return instance{}, err
	}
	defer sock.Close()
	self, err := os.Executable()
	if err != nil {
		return instance{}, err
	}
	lock, err := os.OpenFile(filepath.Join(s.dir, "lock"), os.O_RDWR, 0) // its own open file, its own flock
	if err != nil {
		return instance{}, err
	}
	defer lock.Close()
	runDir, err := os.Open(filepath.Join(s.dir, "run"))
	if err != nil {
		return instance{}, err
	}
	defer runDir.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return instance{}, err
	}
	defer pr.Close()
	cmd := exec.Command(self, initRole, d.Name, d.rootfs(), s.runFile(d.Name), strconv.FormatInt(int64(idleTimeout()/time.Millisecond), 10))
	cmd.ExtraFiles = []*os.File{pw, lock, runDir, sock} // fds 3 to 6
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid:     true,
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
	}
	logf, _ := os.OpenFile(filepath.Join(s.dir, "run", strings.ToLower(d.Name)+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if logf != nil {
		cmd.Stdout, cmd.Stderr = logf, logf
		defer logf.Close()
	}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return instance{}, fmt.Errorf("start instance %s: %w", d.Name, err)
	}
	go cmd.Wait() // reap it if this client lives longer than the instance
	ready, _ := io.ReadAll(pr)
	if string(ready) != "ok" {
		return instance{}, errf("Wsl/Service/CreateInstance/E_FAIL", "%s (%s)", msgUnspecified, strings.TrimSpace(string(ready)))
	}
	st, ok := procStart(cmd.Process.Pid)
	if !ok {
		return instance{}, errf("Wsl/Service/CreateInstance/E_FAIL", msgUnspecified)
	}
	in := instance{PID: cmd.Process.Pid, Start: st}
	b, _ := json.Marshal(in)
	if err := atomicfile.Write(s.runFile(d.Name), b, 0o600); err != nil {
		syscall.Kill(in.PID, syscall.SIGKILL)
		return instance{}, err
	}
	return in, nil
}

// terminate kills the instance of name and waits until it is gone. Call
// with the lock held. Not running is not an error.
func (s *store) terminate(name string) {
	in, ok := s.running(name)
	if !ok {
		return
	}
	waitExit(in, syscall.SIGKILL)
	os.Remove(s.runFile(name))
}

// waitExit sends sig to the instance's init and waits until it has
// exited. The init is not this process's child, so a pidfd is polled.
func waitExit(in instance, sig syscall.Signal) {
	fd, err := unix.PidfdOpen(in.PID, 0)
	if err != nil {
		return // already gone
	}
	defer unix.Close(fd)
	if st, ok := procStart(in.PID); !ok || st != in.Start {
		return // the PID was reused
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		return
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err != unix.EINTR {
			return
		}
	}
}
