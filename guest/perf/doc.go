//go:build linux

// Package perf measures the built microvm-agent on loopback against a
// direct connection and microsocks: SOCKS5 throughput and CPU per GiB,
// connection setup rate and latency, memory, and the keystroke round trip
// of a websocket PTY. It only has tests; they run when MICROVM_BENCH=1.
// See perf_test.go for the knobs.
package perf
