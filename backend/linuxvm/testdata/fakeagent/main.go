// Command fakeagent stands in for microvm-agent in the backend's tests. It
// speaks the agent's command line and the two control calls the backend
// uses. Special tokens change its behaviour:
//
//	exit-at-once  print an error and exit 3 before listening
//	stubborn      ignore SIGTERM and refuse shutdown requests
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

var version = "dev" // set with -ldflags -X main.version=...

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "version" {
		fmt.Println(version)
		return
	}
	// init -- serve FLAGS
	if len(args) < 3 || args[0] != "init" || args[1] != "--" || args[2] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: fakeagent version | init -- serve FLAGS")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	control := fs.String("control-addr", "", "")
	socks := fs.String("socks-addr", "", "")
	tokenFile := fs.String("token-file", "", "")
	fs.Parse(args[3:])

	data, err := os.ReadFile(*tokenFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeagent:", err)
		os.Exit(1)
	}
	token := string(data)
	if token == "exit-at-once" {
		fmt.Fprintln(os.Stderr, "fakeagent: told to exit at once")
		os.Exit(3)
	}
	stubborn := token == "stubborn"

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	sl, err := net.Listen("tcp4", *socks)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeagent:", err)
		os.Exit(1)
	}
	defer sl.Close()
	cl, err := net.Listen("tcp4", *control)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeagent:", err)
		os.Exit(1)
	}
	quit := make(chan struct{}, 1)
	mux := http.NewServeMux()
	auth := func(r *http.Request) bool {
		return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") == token
	}
	mux.HandleFunc("GET /agent/v1/ping", func(w http.ResponseWriter, r *http.Request) {
		if !auth(r) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /agent/v1/shutdown", func(w http.ResponseWriter, r *http.Request) {
		if !auth(r) || stubborn {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		w.(http.Flusher).Flush()
		quit <- struct{}{}
	})
	go http.Serve(cl, mux)
	fmt.Println("fakeagent: serving on", *control)
	for {
		select {
		case <-sigs:
			if !stubborn {
				os.Exit(0)
			}
		case <-quit:
			os.Exit(0)
		}
	}
}
