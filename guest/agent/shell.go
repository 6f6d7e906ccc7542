//go:build linux

package agent

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/websocket"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/shell"
)

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 4096,
	Subprotocols:    []string{agentapi.ShellSubprotocol},
	// Refusals (a browser's cross-origin request, a bad handshake) answer
	// in the API's JSON like every other error.
	Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
		code := agentapi.CodeInvalid
		if status == http.StatusForbidden {
			code = agentapi.CodeUnauthorized
		}
		writeError(w, status, code, reason.Error())
	},
}

func (s *Server) handleShell(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cols, err1 := parseDim(q.Get(agentapi.QueryCols))
	rows, err2 := parseDim(q.Get(agentapi.QueryRows))
	if err := errors.Join(err1, err2); err != nil {
		writeError(w, http.StatusBadRequest, agentapi.CodeInvalid, "cols, rows: "+err.Error())
		return
	}
	argv := q[agentapi.QueryArgv]
	if len(argv) > 0 && argv[0] == "" {
		writeError(w, http.StatusBadRequest, agentapi.CodeInvalid, "argv: empty program name")
		return
	}
	if !websocket.IsWebSocketUpgrade(r) || !slices.Contains(websocket.Subprotocols(r), agentapi.ShellSubprotocol) {
		writeError(w, http.StatusBadRequest, agentapi.CodeInvalid, "a websocket upgrade with subprotocol "+agentapi.ShellSubprotocol+" is required")
		return
	}
	if !sameOrigin(r) {
		// Before starting anything: the upgrader would refuse it too.
		writeError(w, http.StatusForbidden, agentapi.CodeUnauthorized, "cross-origin websocket refused")
		return
	}
	if !acquire(&s.nShells, s.cfg.MaxShells) {
		writeError(w, http.StatusServiceUnavailable, agentapi.CodeUnavailable, "too many shells")
		return
	}
	defer s.nShells.Add(-1)
	if s.base.Err() != nil {
		writeError(w, http.StatusServiceUnavailable, agentapi.CodeUnavailable, "agent shutting down")
		return
	}
	s.shells.Add(1)
	defer s.shells.Done()

	sess, err := shell.Start(shell.Options{Argv: argv, Cols: cols, Rows: rows})
	if err != nil {
		writeStartError(w, err)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has answered the client.
		sess.Hangup(s.cfg.Shell.HangupGrace)
		sess.Close()
		return
	}
	log := s.log.With("pid", sess.Pid())
	log.Info("shell_started", "argv0", firstOr(argv, "login shell"))
	st := shell.Serve(s.base, ws, sess, s.cfg.Shell)
	log.Info("shell_ended", "exit_code", st.ExitCode, "signal", st.Signal, "reason", st.Reason)
}

// sameOrigin accepts requests without an Origin (programs) and those whose
// Origin names the host they were sent to, as the websocket upgrader does.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func parseDim(v string) (uint16, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil || n == 0 {
		return 0, errors.New("must be an integer from 1 to 65535")
	}
	return uint16(n), nil
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}
