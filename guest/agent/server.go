//go:build linux

// Package agent serves the guest agent's control API (agentapi): ping,
// info, exec, PTY shells over websocket, recent logs and shutdown, each
// request authenticated with the VM's bearer token.
package agent

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/internal/ratelimit"
	"github.com/velocitty/microvm/guest/logring"
	"github.com/velocitty/microvm/guest/shell"
)

// Config configures a Server. Token is required.
type Config struct {
	Token  string
	Logger *slog.Logger  // nil: discard
	Ring   *logring.Ring // source of PathLogs; nil: an empty ring

	ExecTimeout    time.Duration // when the request names none; default 60s
	MaxExecTimeout time.Duration // cap on requested timeouts; default 24h
	MaxOutput      int           // bytes kept of stdout and of stderr each; default 1 MiB
	MaxShells      int           // concurrent shells; default 64
	MaxExecs       int           // concurrent exec requests; default 64
	Shell          shell.Config
}

// Defaults of Config.
const (
	DefaultExecTimeout    = 60 * time.Second
	DefaultMaxExecTimeout = 24 * time.Hour
	DefaultMaxOutput      = 1 << 20
	DefaultMaxShells      = 64
	DefaultMaxExecs       = 64
	maxExecRequest        = 16 << 20
	shutdownTimeout       = 10 * time.Second
)

// Server is the control API. Create it with New and run it with Run.
type Server struct {
	cfg       Config
	log       *slog.Logger
	tokenHash [sha256.Size]byte
	started   time.Time
	mux       *http.ServeMux

	// base is cancelled when the agent shuts down; running programs and
	// shells watch it.
	base       context.Context
	cancelBase context.CancelFunc
	shutdownCh chan struct{}
	shutdownMu sync.Once

	shells    sync.WaitGroup
	nShells   atomic.Int64
	nExecs    atomic.Int64
	authWarns ratelimit.Every
}

// New returns a server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Token == "" {
		return nil, errors.New("agent: empty token")
	}
	if cfg.ExecTimeout <= 0 {
		cfg.ExecTimeout = DefaultExecTimeout
	}
	if cfg.MaxExecTimeout <= 0 {
		cfg.MaxExecTimeout = DefaultMaxExecTimeout
	}
	if cfg.MaxOutput <= 0 {
		cfg.MaxOutput = DefaultMaxOutput
	}
	if cfg.MaxShells <= 0 {
		cfg.MaxShells = DefaultMaxShells
	}
	if cfg.MaxExecs <= 0 {
		cfg.MaxExecs = DefaultMaxExecs
	}
	cfg.Shell = cfg.Shell.WithDefaults()
	if cfg.Ring == nil {
		cfg.Ring = logring.NewRing(0)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:        cfg,
		log:        log,
		tokenHash:  sha256.Sum256([]byte(cfg.Token)),
		started:    time.Now(),
		shutdownCh: make(chan struct{}),
	}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	s.mux = http.NewServeMux()
	for _, rt := range []struct {
		method, path string
		h            http.HandlerFunc
	}{
		{http.MethodGet, agentapi.PathPing, s.handlePing},
		{http.MethodGet, agentapi.PathInfo, s.handleInfo},
		{http.MethodPost, agentapi.PathExec, s.handleExec},
		{http.MethodGet, agentapi.PathShell, s.handleShell},
		{http.MethodGet, agentapi.PathLogs, s.handleLogs},
		{http.MethodPost, agentapi.PathShutdown, s.handleShutdown},
	} {
		s.mux.Handle(rt.path, onlyMethod(rt.method, rt.h))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, agentapi.CodeNotFound, "no such endpoint: "+r.URL.Path)
	})
	return s, nil
}

// Handle serves path with h, behind the same token check as the built-in
// endpoints (for features that live in other packages, such as the VPN).
// Call it before Run.
func (s *Server) Handle(path string, h http.Handler) { s.mux.Handle(path, h) }

// Handler is the API with authentication, for tests and embedding.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Run serves the API on ln until ctx is cancelled or a client asks for
// shutdown. It then ends every shell (each gets a status frame) and
// running program, and returns nil once they are gone.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return s.base },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case <-s.shutdownCh:
		s.log.Info("shutdown_requested")
	case err = <-errc:
	}
	s.cancelBase()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = serr
	}
	s.shells.Wait()
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ShutdownRequested is closed when a client has asked the agent to exit.
func (s *Server) ShutdownRequested() <-chan struct{} { return s.shutdownCh }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		if s.authWarns.Allow() {
			s.log.Warn("unauthorized_request", "remote", r.RemoteAddr, "path", r.URL.Path)
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="microvm-agent"`)
		writeError(w, http.StatusUnauthorized, agentapi.CodeUnauthorized, "missing or wrong bearer token")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// authorized compares the bearer token in constant time (over digests, so
// the length does not show either).
func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	h := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(h[:], s.tokenHash[:]) == 1
}

func onlyMethod(method string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			writeError(w, http.StatusMethodNotAllowed, agentapi.CodeMethodNotAllowed, r.Method+" not allowed; use "+method)
			return
		}
		h(w, r)
	})
}

// acquire takes one of max slots counted by n; false when none is free.
// The caller releases with n.Add(-1).
func acquire(n *atomic.Int64, max int) bool {
	if n.Add(1) > int64(max) {
		n.Add(-1)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, agentapi.Error{Code: code, Message: msg})
}

func (s *Server) handlePing(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleShutdown(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusAccepted)
	s.shutdownMu.Do(func() { close(s.shutdownCh) })
}
