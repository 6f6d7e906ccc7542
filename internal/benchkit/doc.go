// Package benchkit holds the measuring tools the benchmarks share: an HTTP
// origin to download from, SOCKS5 and direct load clients, a keystroke
// round-trip probe, process CPU and memory readings and sample statistics.
//
// Every probe returns an error instead of failing a test, so that the
// benchmark report and the per-package benchmarks can use them alike.
package benchkit
