//go:build linux

package main

import (
	"os"
	"strings"
	"syscall"
)

// monitorSetting keeps the Go runtime's monitor thread (sysmon) out of its
// deep sleep. When every processor goes idle, which for a proxy serving one
// connection at a time is between any two packets, sysmon parks; the next
// system call must then wake it with a futex, and it wakes the thread
// again a few times before parking once more. On a guest's one or two
// vCPUs those thread wake-ups were half of the agent's context switches:
// with this setting a new SOCKS5 connection costs about 30% less CPU
// (guest/perf measures it). The price is that an idle agent's monitor
// wakes every 10 ms instead of sleeping.
//
// Monitoring stays awake whenever a scheduler trace is asked for, and a
// trace every 2^31-1 ms (24.8 days) prints nothing in practice: the first
// line is due once the clock it counts from, time since boot, has passed
// that. The runtime reads GODEBUG only at start, hence the re-exec.
const monitorSetting = "schedtrace=2147483647"

// withMonitor returns the GODEBUG value godebug with monitorSetting
// added; false when godebug already names a scheduler trace (the user's
// or ours).
func withMonitor(godebug string) (string, bool) {
	if godebug == "" {
		return monitorSetting, true
	}
	for _, s := range strings.Split(godebug, ",") {
		if strings.HasPrefix(s, "schedtrace=") {
			return godebug, false
		}
	}
	return godebug + "," + monitorSetting, true
}

// keepMonitorAwake re-executes the agent with monitorSetting unless its
// environment has it. It only returns when it did nothing or exec failed;
// either way the agent runs on, at worst with the runtime's default.
func keepMonitorAwake() {
	if v, ok := withMonitor(os.Getenv("GODEBUG")); ok {
		os.Setenv("GODEBUG", v)
		syscall.Exec("/proc/self/exe", os.Args, os.Environ())
	}
}
