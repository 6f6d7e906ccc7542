//go:build linux

package wslemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"strings"
	"syscall"
)

// The session protocol between a client (a wsl.exe invocation) and the
// distribution's init, over a SOCK_SEQPACKET socket: the client sends one
// request with its stdin, stdout and stderr attached (SCM_RIGHTS); init
// answers "started" or an error, and later the raw wait status. A
// connection closed without a status means the instance was terminated.
// Unlike entering the namespaces from outside, nothing outside the
// distribution is the program's parent, so stopping the program (pause)
// stops nothing else.

type sessionRequest struct {
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
	UID  int      `json:"uid"`
	GID  int      `json:"gid"`
}

type sessionReply struct {
	Started bool   `json:"started,omitempty"`
	Error   string `json:"error,omitempty"`
	Status  *int   `json:"status,omitempty"` // raw wait status
}

// serve accepts sessions until the listener fails.
func (in *initState) serve(ln *net.UnixListener) {
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		go in.session(c)
	}
}

func (in *initState) session(c *net.UnixConn) {
	defer c.Close()
	buf, oob := make([]byte, 1<<16), make([]byte, 256)
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return
	}
	fds := receiveFDs(oob[:oobn])
	defer func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}()
	var req sessionRequest
	if err := json.Unmarshal(buf[:n], &req); err != nil || len(fds) != 3 || len(req.Argv) == 0 {
		writeReply(c, sessionReply{Error: "bad request"})
		return
	}
	in.mu.Lock()
	in.attached++
	in.mu.Unlock()
	defer func() {
		in.mu.Lock()
		in.attached--
		in.mu.Unlock()
	}()

	prog, err := lookPath(req.Argv[0], req.Env)
	if err != nil {
		writeReply(c, sessionReply{Error: fmt.Sprintf("execvpe(%s) failed: %v", req.Argv[0], err)})
		return
	}
	attr := &syscall.ProcAttr{
		Dir:   req.Dir,
		Env:   req.Env,
		Files: []uintptr{uintptr(fds[0]), uintptr(fds[1]), uintptr(fds[2])},
		Sys: &syscall.SysProcAttr{
			Setsid:     true, // each session has its own leader, as in WSL
			Credential: &syscall.Credential{Uid: uint32(req.UID), Gid: uint32(req.GID)},
		},
	}
	done := make(chan syscall.WaitStatus, 1)
	in.mu.Lock() // the reaper must not see the child before it is registered
	pid, err := syscall.ForkExec(prog, req.Argv, attr)
	if err == nil {
		if ws, ok := in.early[pid]; ok {
			delete(in.early, pid)
			done <- ws
		} else {
			in.procs[pid] = done
		}
	}
	in.mu.Unlock()
	if err != nil {
		writeReply(c, sessionReply{Error: fmt.Sprintf("execvpe(%s) failed: %v", req.Argv[0], err)})
		return
	}
	for _, fd := range fds {
		syscall.Close(fd)
	}
	fds = nil
	writeReply(c, sessionReply{Started: true})

	// A client that goes away takes its program with it.
	gone := make(chan struct{})
	go func() {
		c.Read(make([]byte, 1))
		close(gone)
	}()
	select {
	case ws := <-done:
		st := int(ws)
		writeReply(c, sessionReply{Status: &st})
	case <-gone:
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func writeReply(c *net.UnixConn, r sessionReply) {
	b, _ := json.Marshal(r)
	c.Write(b)
}

func receiveFDs(oob []byte) []int {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		if f, err := syscall.ParseUnixRights(&m); err == nil {
			fds = append(fds, f...)
		}
	}
	return fds
}

// lookPath finds argv0 as execvpe does, in the PATH of the session's
// environment.
func lookPath(argv0 string, env []string) (string, error) {
	if strings.Contains(argv0, "/") {
		return argv0, executable(argv0)
	}
	p := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			p = v
		}
	}
	for _, dir := range strings.Split(p, ":") {
		if full := path.Join(dir, argv0); executable(full) == nil {
			return full, nil
		}
	}
	return "", errNoEnt
}

// The strerror texts WSL's init prints for a failed execvpe.
var (
	errNoEnt  = syscall.ENOENT // "no such file or directory"
	errAccess = syscall.EACCES // "permission denied"
)

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return errNoEnt
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return errAccess
	}
	return nil
}

// runSession sends the request with this process's standard streams and
// relays the outcome: the exit status of the program, the signal number
// when a signal killed it (the raw wait status, as WSL forwards it), 1
// when it could not be started or the instance ended under it.
func runSession(sock string, req sessionRequest, attached func()) int {
	conn, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		return failSession(err)
	}
	defer conn.Close()
	b, _ := json.Marshal(req)
	if _, _, err := conn.WriteMsgUnix(b, syscall.UnixRights(0, 1, 2), nil); err != nil {
		return failSession(err)
	}
	var reply sessionReply
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	attached()
	if err != nil || json.Unmarshal(buf[:n], &reply) != nil {
		return 1
	}
	if reply.Error != "" {
		return failSession(errors.New(reply.Error))
	}
	n, err = conn.Read(buf)
	if err != nil || json.Unmarshal(buf[:n], &reply) != nil || reply.Status == nil {
		return 1 // the channel closed without an exit status
	}
	ws := syscall.WaitStatus(*reply.Status)
	if ws.Signaled() {
		return int(ws.Signal())
	}
	return ws.ExitStatus()
}

// failSession prints the error the way WSL's init reports a failed
// launch, and returns 1.
func failSession(err error) int {
	fmt.Fprintf(os.Stderr, "<3>WSL (%d) ERROR: CreateProcessParseCommon:863: %v\n", os.Getpid(), err)
	return 1
}
