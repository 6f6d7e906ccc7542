// Command testagent stands in for microvm-agent in tests of the WSL
// backend: it answers the control API's ping, info and shutdown with the
// provisioned token, which is all the backend itself uses.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/velocitty/microvm/guest/agentapi"
)

// version is set with -ldflags "-X main.version=...".
var version = "test"

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "version" {
		fmt.Println(version)
		return
	}
	if len(args) > 1 && args[0] == "init" && args[1] == "--" {
		args = args[2:]
	}
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: testagent version | [init --] serve --control-addr A --socks-addr A --token-file F")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	ctl := fs.String("control-addr", "127.0.0.1:1025", "")
	fs.String("socks-addr", "127.0.0.1:1080", "")
	tokenFile := fs.String("token-file", "/etc/microvm/token", "")
	fs.Parse(args[1:])
	if err := serve(*ctl, *tokenFile); err != nil {
		fmt.Fprintln(os.Stderr, "testagent:", err)
		os.Exit(1)
	}
}

func serve(addr, tokenFile string) error {
	tok, err := os.ReadFile(tokenFile)
	if err != nil {
		return err
	}
	token := string(bytes.TrimSpace(tok))
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	started := time.Now()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+agentapi.PathPing, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+agentapi.PathInfo, func(w http.ResponseWriter, r *http.Request) {
		h, _ := os.Hostname()
		json.NewEncoder(w).Encode(agentapi.Info{Version: version, Hostname: h, PID: os.Getpid(), StartedAt: started})
	})
	mux.HandleFunc("POST "+agentapi.PathShutdown, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		stop()
	})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"code":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
