//go:build linux

package shell

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// signalSession sends sig to every live process whose session id is sid
// and returns how many there were (signal 0 only counts them). Zombies
// are skipped: they are dead and their parent reaps them.
func signalSession(sid int, sig syscall.Signal) int {
	d, err := os.Open("/proc")
	if err != nil {
		return 0
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	n := 0
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		s, state, ok := procSession(pid)
		if !ok || s != sid || state == 'Z' || state == 'X' {
			continue
		}
		n++
		if sig != 0 {
			syscall.Kill(pid, sig)
		}
	}
	return n
}

// procSession reads a process's session id and state from /proc/pid/stat.
func procSession(pid int) (sid int, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name may hold spaces and parens: fields start after the
	// last ')'. They are: state ppid pgrp session ...
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 4 || len(f[0]) != 1 {
		return 0, 0, false
	}
	sid, err = strconv.Atoi(string(f[3]))
	return sid, f[0][0], err == nil
}
