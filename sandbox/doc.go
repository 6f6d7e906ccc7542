// Package sandbox runs a process tree in its own mount, PID, UTS and IPC
// namespaces, rooted in an unpacked guest image, while it shares the host's
// network (as WSL2 distros share the WSL VM's network).
//
// A box is detached from the process that started it: it survives that
// process and can be found again from its Ref. Every process in a box lives
// in one cgroup (cgroup v2 when the unified hierarchy can freeze, else the
// v1 freezer), which is how a box is frozen, thawed and killed as a whole.
//
// Setting up the namespaces needs a fresh process, so the package re-executes
// the running binary in a hidden helper role. Programs that start boxes must
// call, first thing in main (and in TestMain for tests):
//
//	if sandbox.IsChild() {
//		sandbox.ChildMain()
//	}
//
// The box is an isolation of views, not a security boundary: its init runs
// as root with full capabilities on the host's network stack.
package sandbox
