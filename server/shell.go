package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/agentclient"
	"github.com/velocitty/microvm/server/internal/gen"
)

// ShellAgents locates the agent of a running VM for the shell websocket.
// *machine.Manager implements it. AgentEndpoint fails with a not-found
// error for an unknown VM and an *errdefs.StateError for one that is not
// running.
type ShellAgents interface {
	AgentEndpoint(ctx context.Context, name string) (addr, token string, err error)
}

// shellDialTimeout bounds connecting to the agent and its handshake.
const shellDialTimeout = 10 * time.Second

// shellRoutes adds the shell websocket to rawRoutes. The generated
// wrapper binds the parameters and the spec validator checks them
// (argv count and length, cols and rows 1 to 1000) before OpenShell runs,
// so a bad request gets its 400 problem without an upgrade.
type shellRoutes struct {
	rawRoutes
}

// OpenShell relays GET /v1/vms/{name}/shell to the agent's PTY shell.
// Every refusal (bad request, unknown or stopped VM, unreachable agent)
// is answered with a problem before the upgrade; after it, the relay
// reports through status frames and close codes.
func (sr shellRoutes) OpenShell(w http.ResponseWriter, r *http.Request, name api.VMName, params api.OpenShellParams) {
	cfg := sr.h.cfg
	if cfg.Shells == nil {
		sr.errs.write(w, r, notImplemented("the shell websocket"))
		return
	}
	if p := checkShellUpgrade(r, cfg.Port, cfg.ListenHost, params); p != nil {
		writeProblem(w, r, p)
		return
	}
	if sessions, ok := cfg.Shells.(*ShellSessions); ok {
		done, ok := sessions.begin()
		if !ok {
			writeProblem(w, r, newProblem(http.StatusServiceUnavailable, codeUnavailable, reasonShuttingDown))
			return
		}
		defer done()
	}
	ctx := r.Context()
	addr, token, err := cfg.Shells.AgentEndpoint(ctx, name)
	if err != nil {
		sr.errs.write(w, r, err)
		return
	}
	// The validator has held cols and rows to 1..1000; zero means the
	// agent's default.
	cols, rows, argv := uint16(params.Cols), uint16(params.Rows), params.Argv
	dialCtx, cancel := context.WithTimeout(ctx, shellDialTimeout)
	agent, err := agentclient.New(addr, token).DialShell(dialCtx, argv, cols, rows)
	cancel()
	if err != nil {
		sr.errs.write(w, r, agentShellError(name, err))
		return
	}
	up := shellUpgrader(cfg.Port, cfg.ListenHost)
	client, err := up.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has answered with a problem.
		agent.Close()
		return
	}
	log := cfg.Logger.With("vm", name)
	log.InfoContext(ctx, "shell_opened", "argv0", firstArg(argv))
	st := newRelay(client, agent, currentShellTimings()).run(ctx)
	log.InfoContext(ctx, "shell_closed", "exit_code", st.ExitCode, "signal", st.Signal, "reason", st.Reason)
}

// checkShellUpgrade refuses, before anything starts in the guest, a
// request that is not a websocket upgrade offering our subprotocol, one
// from another web origin, and an empty program name.
func checkShellUpgrade(r *http.Request, port int, listenHost string, params api.OpenShellParams) *api.Problem {
	invalid := func(field, detail string) *api.Problem {
		p := newProblem(http.StatusBadRequest, codeInvalid, field+": "+detail)
		p.Field = field
		return p
	}
	switch {
	case !websocket.IsWebSocketUpgrade(r):
		return invalid("Upgrade", "a websocket upgrade is required")
	case !slices.Contains(websocket.Subprotocols(r), agentapi.ShellSubprotocol):
		return invalid("Sec-WebSocket-Protocol", "the client must offer the subprotocol "+agentapi.ShellSubprotocol)
	case !ownOrigin(r, port, listenHost):
		return newProblem(http.StatusForbidden, codeForbiddenOrigin, "websockets from other web origins are refused")
	case len(params.Argv) > 0 && params.Argv[0] == "":
		return invalid("argv", "the program name is empty")
	}
	return nil
}

// agentShellError classes a failure to open the shell in the agent. The
// agent refusing the daemon's token is the daemon's problem, not the
// caller's, so it must not read as the caller being unauthorized.
func agentShellError(name string, err error) error {
	if errors.Is(err, errdefs.ErrUnauthorized) {
		return fmt.Errorf("open a shell in VM %s: the agent refused the daemon: %w", name, errdefs.ErrUnavailable)
	}
	return fmt.Errorf("open a shell in VM %s: %w", name, err)
}

// ownOrigin accepts requests without an Origin (programs) and browser
// requests from the daemon's own origin: http:// with a loopback name or
// address the Host check also accepts, and our port. It agrees with the
// guard in front of every route; the upgrader checks it again.
func ownOrigin(r *http.Request, port int, listenHost string) bool {
	vals, ok := r.Header["Origin"]
	if !ok {
		return true
	}
	if len(vals) != 1 {
		return false
	}
	u, err := url.Parse(strings.ToLower(vals[0]))
	if err != nil || u.Scheme != "http" || u.Path != "" || u.User != nil || u.RawQuery != "" {
		return false
	}
	host, p, err := net.SplitHostPort(u.Host)
	if err != nil || p != strconv.Itoa(port) {
		return false
	}
	switch host {
	case "127.0.0.1", "localhost", "::1":
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback() && ip.Equal(net.ParseIP(listenHost))
}

func shellUpgrader(port int, listenHost string) *websocket.Upgrader {
	return &websocket.Upgrader{
		HandshakeTimeout: shellDialTimeout,
		ReadBufferSize:   4 << 10,
		WriteBufferSize:  4 << 10,
		WriteBufferPool:  shellWriteBuffers,
		Subprotocols:     []string{agentapi.ShellSubprotocol},
		CheckOrigin:      func(r *http.Request) bool { return ownOrigin(r, port, listenHost) },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			code := codeInvalid
			if status == http.StatusForbidden {
				code = codeForbiddenOrigin
			}
			writeProblem(w, r, newProblem(status, code, reason.Error()))
		},
	}
}

func firstArg(argv []string) string {
	if len(argv) == 0 {
		return "login shell"
	}
	return argv[0]
}

// OpenShell of the strict interface is never called: shellRoutes serves
// the route with the ResponseWriter that the upgrade needs.
func (h *handlers) OpenShell(context.Context, gen.OpenShellRequestObject) (gen.OpenShellResponseObject, error) {
	return nil, errors.New("the shell websocket is served by shellRoutes")
}
