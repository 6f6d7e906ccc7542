// Command restbench serves GET /v1/vms/default for load tests: either the
// whole API (token, Host and origin checks, spec validation, logging at
// info) over the real VM manager with a fake backend, or a bare net/http
// handler answering the same JSON, so that the two can be compared with
// wrk on the same machine. bench/rest.sh drives it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/machine/machinetest"
	"github.com/velocitty/microvm/server"
)

const token = "0000000000000000000000000000000000000000000000000000000000000000"

func main() {
	mode := flag.String("mode", "api", "api or bare")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to `file` on exit")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	h, err := handler(ctx, *mode, port)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Printf("http://127.0.0.1:%d %s\n", port, token)
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		log.Print(err)
	}
}

func handler(ctx context.Context, mode string, port int) (http.Handler, error) {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	dir, err := os.MkdirTemp("", "restbench-")
	if err != nil {
		return nil, err
	}
	be := machinetest.NewBackend()
	mgr, err := machine.New(ctx, machine.Config{
		DataDir: dir, Logger: logger, DefaultBackend: "linux",
		Backends: map[string]machine.Backend{"linux": be}, Agents: be.Agents,
	})
	if err != nil {
		return nil, err
	}
	switch mode {
	case "api":
		return server.New(server.Config{
			Logger: logger, Machines: mgr, Events: mgr.Events(), Token: token, Port: port,
		})
	case "bare":
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			vm, err := mgr.Get(r.Context(), "default")
			if err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(api.VM{
				Name: vm.Name, Backend: api.BackendName(vm.Backend), State: api.VMState(vm.State),
				SocksAddress: vm.SocksAddress(), AgentAddress: vm.AgentAddress(),
				CreatedAt: vm.CreatedAt, UpdatedAt: vm.UpdatedAt,
			})
		}), nil
	}
	return nil, fmt.Errorf("unknown mode %q", mode)
}
