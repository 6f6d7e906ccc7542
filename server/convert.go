package server

import (
	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/machine"
)

func toVM(v machine.VM) api.VM {
	return api.VM{
		Name:         v.Name,
		Backend:      api.BackendName(v.Backend),
		State:        api.VMState(v.State),
		Reason:       v.Reason,
		SocksAddress: v.SocksAddress(),
		AgentAddress: v.AgentAddress(),
		CreatedAt:    v.CreatedAt,
		UpdatedAt:    v.UpdatedAt,
		StartedAt:    v.StartedAt,
	}
}

func toExecRequest(r api.ExecRequest) agentapi.ExecRequest {
	return agentapi.ExecRequest{
		Argv:           r.Argv,
		Stdin:          r.Stdin,
		Env:            r.Env,
		Dir:            r.Dir,
		TimeoutSeconds: r.TimeoutSeconds,
	}
}

func toExecResult(r agentapi.ExecResult) api.ExecResult {
	return api.ExecResult{
		ExitCode:        r.ExitCode,
		Signal:          r.Signal,
		TimedOut:        r.TimedOut,
		Stdout:          r.Stdout,
		Stderr:          r.Stderr,
		StdoutTruncated: r.StdoutTruncated,
		StderrTruncated: r.StderrTruncated,
		DurationMillis:  r.DurationMillis,
	}
}

func toEvent(e machine.Event) api.Event {
	return api.Event{
		ID:     int64(e.ID),
		Time:   e.Time,
		Type:   api.EventType(e.Type),
		VM:     e.VM,
		State:  e.State,
		Reason: e.Reason,
	}
}
