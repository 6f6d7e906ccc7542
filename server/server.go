// Package server serves the microvm REST API (api/openapi.yaml) over
// HTTP: routing, request validation against the spec, the loopback
// security checks (Host allowlist, browser origin, bearer token), problem
// documents for every error, request logs, and the handlers that call
// the VM manager.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/server/internal/gen"
)

// Machines is what the server needs of the VM manager.
type Machines interface {
	List(ctx context.Context) []machine.VM
	Get(ctx context.Context, name string) (machine.VM, error)
	Create(ctx context.Context, o machine.CreateOptions) (machine.VM, error)
	Delete(ctx context.Context, name string) error
	Start(ctx context.Context, name string) (machine.VM, error)
	Stop(ctx context.Context, name string) (machine.VM, error)
	Pause(ctx context.Context, name string) (machine.VM, error)
	Resume(ctx context.Context, name string) (machine.VM, error)
	Kill(ctx context.Context, name string) (machine.VM, error)
	Exec(ctx context.Context, name string, req agentapi.ExecRequest) (agentapi.ExecResult, error)
	Logs(ctx context.Context, name string, limit int) ([]agentapi.LogEntry, error)
	Backends(ctx context.Context) []machine.BackendInfo
}

// EventSource streams VM and VPN changes. Subscribe replays the events
// with an ID above after, then follows new ones; the channel closes when
// ctx ends or the subscriber falls behind.
type EventSource interface {
	Subscribe(ctx context.Context, after uint64) (<-chan machine.Event, error)
}

// Config configures the API handler.
type Config struct {
	Logger   *slog.Logger // required
	Machines Machines     // required
	Events   EventSource  // nil: /v1/events answers 501
	Profiles Profiles     // nil: the profile routes answer 501
	Shells   ShellAgents  // nil: /v1/vms/{name}/shell answers 501

	// Token is the bearer token every route but health requires.
	Token string
	// Port is the port the daemon listens on; Host and Origin headers
	// must name it with a loopback name or address.
	Port int
	// ListenHost is the loopback address listened on, if not 127.0.0.1
	// or ::1 (e.g. 127.0.0.2), so that it is accepted in Host too.
	ListenHost string

	Version   string
	DataDir   string
	StartedAt time.Time

	// MaxBodyBytes caps request bodies; 0 means 1 MiB.
	MaxBodyBytes int64
	// Heartbeat is the interval of keepalive comments on the event
	// stream; 0 means 15s.
	Heartbeat time.Duration
}

// New returns the API handler.
func New(cfg Config) (http.Handler, error) {
	if cfg.Logger == nil || cfg.Machines == nil {
		return nil, errors.New("server: Logger and Machines are required")
	}
	if cfg.Token == "" || cfg.Port == 0 {
		return nil, errors.New("server: Token and Port are required")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	doc, err := loadSpec()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	errs := errorWriter{log: log}

	router := chi.NewRouter()
	router.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, newProblem(http.StatusNotFound, codeNotFound, "no such route"))
	})
	router.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
			if router.Match(chi.NewRouteContext(), m, r.URL.Path) {
				allow = append(allow, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, r, newProblem(http.StatusMethodNotAllowed, codeMethodNotAllowed,
			r.Method+" is not allowed here; use "+strings.Join(allow, " or ")))
	})

	h := &handlers{cfg: cfg}
	strict := gen.NewStrictHandlerWithOptions(h, nil, gen.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeProblem(w, r, decodeProblem(err))
		},
		ResponseErrorHandlerFunc: errs.write,
	})
	gen.HandlerWithOptions(shellRoutes{rawRoutes{ServerInterface: strict, h: h, errs: errs}}, gen.ChiServerOptions{
		BaseRouter:  router,
		Middlewares: []gen.MiddlewareFunc{newValidator(doc).middleware},
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeProblem(w, r, paramProblem(err))
		},
	})

	var next http.Handler = router
	next = limitBody(cfg.MaxBodyBytes, next)
	next = newGuard(cfg.Port, cfg.ListenHost, cfg.Token).wrap(next)
	next = headers(next)
	next = recoverPanics(log, next)
	next = logRequests(log, next)
	return next, nil
}
