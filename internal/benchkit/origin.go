package benchkit

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
)

// OriginEnv, set to a listen address, makes a test binary that calls
// ServeOriginIfAsked from its TestMain serve as the origin instead of
// running tests: the origin then runs in a process of its own, so its CPU
// and garbage collection do not disturb the process that measures.
const OriginEnv = "MICROVM_BENCH_ORIGIN"

// OriginHandler serves /bytes?n=N (N bytes from a 1 MiB buffer, with a
// Content-Length) and /small (64 bytes).
func OriginHandler() http.Handler {
	block := bytes.Repeat([]byte("0123456789abcdef"), 1<<20/16)
	small := block[:64]
	mux := http.NewServeMux()
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		if err != nil || n < 0 {
			http.Error(w, "n: want a byte count", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		for n > 0 {
			k := min(n, int64(len(block)))
			if _, err := w.Write(block[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) { w.Write(small) })
	return mux
}

// ServeOriginIfAsked serves the origin forever when OriginEnv is set and
// returns otherwise. It prints "ready" once listening.
func ServeOriginIfAsked() {
	addr := os.Getenv(OriginEnv)
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "origin:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	err = http.Serve(ln, OriginHandler())
	fmt.Fprintln(os.Stderr, "origin:", err)
	os.Exit(1)
}
