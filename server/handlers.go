package server

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/server/internal/gen"
)

// handlers implements the generated strict server interface. Errors are
// returned as they come from the manager; the strict server's response
// error hook maps them to problems in one place (problem.go).
type handlers struct {
	cfg Config
}

var _ gen.StrictServerInterface = (*handlers)(nil)

func (h *handlers) GetHealth(context.Context, gen.GetHealthRequestObject) (gen.GetHealthResponseObject, error) {
	return gen.GetHealth200JSONResponse{Status: api.HealthStatusOk}, nil
}

func (h *handlers) GetInfo(ctx context.Context, _ gen.GetInfoRequestObject) (gen.GetInfoResponseObject, error) {
	info := gen.GetInfo200JSONResponse{
		Version:   h.cfg.Version,
		Os:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		Pid:       os.Getpid(),
		DataDir:   h.cfg.DataDir,
		StartedAt: h.cfg.StartedAt,
		Backends:  []api.BackendInfo{},
	}
	for _, b := range h.cfg.Machines.Backends(ctx) {
		info.Backends = append(info.Backends, api.BackendInfo{
			Name: api.BackendName(b.Name), Available: b.Available, Reason: b.Reason, Default: b.Default,
		})
		if b.Default {
			info.DefaultBackend = b.Name
		}
	}
	return info, nil
}

func (h *handlers) ListVMs(ctx context.Context, _ gen.ListVMsRequestObject) (gen.ListVMsResponseObject, error) {
	vms := h.cfg.Machines.List(ctx)
	slices.SortFunc(vms, func(a, b machine.VM) int { return strings.Compare(a.Name, b.Name) })
	out := gen.ListVMs200JSONResponse{VMs: make([]api.VM, 0, len(vms))}
	for _, v := range vms {
		out.VMs = append(out.VMs, toVM(v))
	}
	return out, nil
}

func (h *handlers) CreateVM(ctx context.Context, req gen.CreateVMRequestObject) (gen.CreateVMResponseObject, error) {
	vm, err := h.cfg.Machines.Create(ctx, machine.CreateOptions{
		Name: req.Body.Name, Backend: string(req.Body.Backend),
	})
	if err != nil {
		return nil, backendError{err}
	}
	return gen.CreateVM201JSONResponse{
		Body:    toVM(vm),
		Headers: gen.CreateVM201ResponseHeaders{Location: "/v1/vms/" + vm.Name},
	}, nil
}

func (h *handlers) GetVM(ctx context.Context, req gen.GetVMRequestObject) (gen.GetVMResponseObject, error) {
	vm, err := h.cfg.Machines.Get(ctx, req.Name)
	if err != nil {
		return nil, err
	}
	return gen.GetVM200JSONResponse(toVM(vm)), nil
}

func (h *handlers) DeleteVM(ctx context.Context, req gen.DeleteVMRequestObject) (gen.DeleteVMResponseObject, error) {
	if err := h.cfg.Machines.Delete(ctx, req.Name); err != nil {
		return nil, err
	}
	return gen.DeleteVM204Response{}, nil
}

func (h *handlers) StartVM(ctx context.Context, req gen.StartVMRequestObject) (gen.StartVMResponseObject, error) {
	vm, err := h.cfg.Machines.Start(ctx, req.Name)
	if err != nil {
		return nil, backendError{err}
	}
	return gen.StartVM200JSONResponse{VMResultJSONResponse: gen.VMResultJSONResponse(toVM(vm))}, nil
}

func (h *handlers) StopVM(ctx context.Context, req gen.StopVMRequestObject) (gen.StopVMResponseObject, error) {
	vm, err := h.cfg.Machines.Stop(ctx, req.Name)
	if err != nil {
		return nil, err
	}
	return gen.StopVM200JSONResponse{VMResultJSONResponse: gen.VMResultJSONResponse(toVM(vm))}, nil
}

func (h *handlers) PauseVM(ctx context.Context, req gen.PauseVMRequestObject) (gen.PauseVMResponseObject, error) {
	vm, err := h.cfg.Machines.Pause(ctx, req.Name)
	if err != nil {
		return nil, err
	}
	return gen.PauseVM200JSONResponse{VMResultJSONResponse: gen.VMResultJSONResponse(toVM(vm))}, nil
}

func (h *handlers) ResumeVM(ctx context.Context, req gen.ResumeVMRequestObject) (gen.ResumeVMResponseObject, error) {
	vm, err := h.cfg.Machines.Resume(ctx, req.Name)
	if err != nil {
		return nil, err
	}
	return gen.ResumeVM200JSONResponse{VMResultJSONResponse: gen.VMResultJSONResponse(toVM(vm))}, nil
}

func (h *handlers) KillVM(ctx context.Context, req gen.KillVMRequestObject) (gen.KillVMResponseObject, error) {
	vm, err := h.cfg.Machines.Kill(ctx, req.Name)
	if err != nil {
		return nil, err
	}
	return gen.KillVM200JSONResponse{VMResultJSONResponse: gen.VMResultJSONResponse(toVM(vm))}, nil
}

func (h *handlers) ExecVM(ctx context.Context, req gen.ExecVMRequestObject) (gen.ExecVMResponseObject, error) {
	res, err := h.cfg.Machines.Exec(ctx, req.Name, toExecRequest(*req.Body))
	if err != nil {
		return nil, err
	}
	return gen.ExecVM200JSONResponse(toExecResult(res)), nil
}

func (h *handlers) GetVMLogs(ctx context.Context, req gen.GetVMLogsRequestObject) (gen.GetVMLogsResponseObject, error) {
	limit := req.Params.Limit
	if limit == 0 {
		limit = 200
	}
	entries, err := h.cfg.Machines.Logs(ctx, req.Name, limit)
	if err != nil {
		return nil, err
	}
	out := gen.GetVMLogs200JSONResponse{Entries: make([]api.LogEntry, 0, len(entries))}
	for _, e := range entries {
		out.Entries = append(out.Entries, api.LogEntry{
			Time: e.Time, Level: e.Level, Source: e.Source, Message: e.Message,
		})
	}
	return out, nil
}

// notImplemented answers a route whose part of the server was not
// configured (no event source, profile store or shell dialer).
func notImplemented(what string) error {
	return fmt.Errorf("%s is not available in this server: %w", what, errdefs.ErrNotImplemented)
}
