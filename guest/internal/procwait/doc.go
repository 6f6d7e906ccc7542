// Package procwait waits for a child process to end through the runtime's
// network poller, on a pidfd, instead of in a blocking wait system call.
//
// The agent runs its Go code on one processor (GOMAXPROCS=1) with the
// runtime's monitor kept awake. A goroutine blocked in waitid holds that
// processor until the monitor's next tick takes it back, up to 10 ms in
// which the proxy and every other goroutine stand still. Waiting here
// first makes the wait that follows (exec.Cmd.Wait) return at once.
package procwait
