// Package monitor keeps the Go runtime's monitor thread (sysmon) out of its
// deep sleep, for the agent, whose work comes one small message at a time.
//
// When every processor goes idle, which for a relay serving one
// connection is between any two packets, sysmon parks; the next system
// call must then wake it with a futex, and it wakes the thread again a few
// times before parking once more. On a guest's one or two vCPUs those
// wake-ups were half of the agent's context switches. Kept awake, sysmon
// instead sleeps up to 10 ms at a time while idle: a new SOCKS5 connection
// costs about 40% less CPU and its added latency is halved (guest/perf
// measures it).
//
// The price: an idle agent wakes about 100 times a second instead of
// never, which cost 0.35% of one vCPU on the machine we measure on. The
// daemon does not use this: there it bought 13% on a keystroke's round
// trip, already well under target, for ten times its idle wake-ups.
//
// Sysmon stays awake whenever a scheduler trace is asked for. A trace
// every 2^31-1 ms prints one line to standard error for every 24.8 days
// of uptime. The runtime reads GODEBUG only as it starts, hence
// KeepAwake's re-exec.
//
// Kept awake, sysmon takes a processor back from a blocking system call
// only at its next tick, up to 10 ms later: the agent, which runs Go code
// on one processor, waits for children and the like through the network
// poller (guest/internal/procwait), not in blocking calls.
package monitor

import (
	"os"
	"strings"
)

// Setting is the GODEBUG setting that keeps sysmon awake.
const Setting = "schedtrace=2147483647"

// With returns the GODEBUG value godebug with Setting added; false when
// godebug already names a scheduler trace (the user's or ours).
func With(godebug string) (string, bool) {
	if godebug == "" {
		return Setting, true
	}
	for _, s := range strings.Split(godebug, ",") {
		if strings.HasPrefix(s, "schedtrace=") {
			return godebug, false
		}
	}
	return godebug + "," + Setting, true
}

// Set adds Setting to this process's GODEBUG, for the programs it starts;
// false when it was there already (or another scheduler trace was).
func Set() bool {
	v, ok := With(os.Getenv("GODEBUG"))
	if ok {
		os.Setenv("GODEBUG", v)
	}
	return ok
}
