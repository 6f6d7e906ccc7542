// Command boxinit is a stand-in guest program for the sandbox tests.
//
//	boxinit serve ADDR TICKFILE   listen on ADDR (tcp4), greet each connection
//	                              with "hello from PID", count ticks into TICKFILE,
//	                              exit 0 on SIGTERM
//	boxinit info                  print what the process sees, as JSON
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: boxinit serve ADDR TICKFILE | info")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2], os.Args[3])
	case "info":
		info()
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}

func serve(addr, tickFile string) {
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "hello from %d\n", os.Getpid())
			c.Close()
		}
	}()
	t := time.NewTicker(2 * time.Millisecond)
	for n := 0; ; n++ {
		select {
		case <-sigs:
			os.Exit(0)
		case <-t.C:
			os.WriteFile(tickFile, []byte(strconv.Itoa(n)), 0o644)
		}
	}
}

type report struct {
	PID       int               `json:"pid"`
	Hostname  string            `json:"hostname"`
	Procs     []int             `json:"procs"`
	Cmdline1  string            `json:"cmdline1"`
	OSRelease string            `json:"osRelease"`
	Dev       map[string]string `json:"dev"`
	Mounts    []string          `json:"mounts"`
}

func info() {
	r := report{PID: os.Getpid(), Dev: map[string]string{}}
	r.Hostname, _ = os.Hostname()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			r.Procs = append(r.Procs, pid)
		}
	}
	cmd, _ := os.ReadFile("/proc/1/cmdline")
	r.Cmdline1 = strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " ")
	rel, _ := os.ReadFile("/etc/os-release")
	r.OSRelease = string(rel)
	for _, name := range []string{"null", "zero", "full", "random", "urandom", "tty", "net/tun", "ptmx", "pts/ptmx", "shm", "fd"} {
		st, err := os.Lstat("/dev/" + name)
		if err != nil {
			r.Dev[name] = "missing"
			continue
		}
		r.Dev[name] = strings.TrimRight(st.Mode().Type().String(), "-")
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(strings.TrimSpace(string(mi)), "\n") {
		f := strings.Fields(line)
		if len(f) > 5 {
			r.Mounts = append(r.Mounts, f[4]+" "+f[5])
		}
	}
	json.NewEncoder(os.Stdout).Encode(r)
}
