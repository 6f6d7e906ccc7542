// Package linuxvm runs microvm guests on Linux as namespace sandboxes: the
// guest image is unpacked once per VM, the agent is deployed into it, and
// the agent runs as PID 1 of a sandbox box that shares the host's network
// (so the agent's 127.0.0.1 ports are the host's, as with WSL2). It
// implements machine.Backend.
package linuxvm
