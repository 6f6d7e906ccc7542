//go:build linux

package agent

import (
	"net/http"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/velocitty/microvm/guest/agentapi"
)

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	host, _ := os.Hostname()
	writeJSON(w, http.StatusOK, agentapi.Info{
		Version:       agentapi.Version,
		Hostname:      host,
		Kernel:        kernelRelease(),
		PID:           os.Getpid(),
		StartedAt:     s.started.UTC(),
		UptimeSeconds: time.Since(s.started).Seconds(),
	})
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since time.Time
	if v := q.Get(agentapi.QuerySince); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, agentapi.CodeInvalid, "since: not an RFC 3339 time")
			return
		}
		since = t
	}
	limit := 0
	if v := q.Get(agentapi.QueryLimit); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, agentapi.CodeInvalid, "limit: not a non-negative integer")
			return
		}
		limit = n
	}
	writeJSON(w, http.StatusOK, s.cfg.Ring.Entries(since, limit))
}
