package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/velocitty/microvm/api"
)

// Health checks that the daemon answers; it needs no token.
func (c *Client) Health(ctx context.Context) error {
	resp, err := c.gen.GetHealth(ctx)
	_, err = decode[api.Health](c, "health", resp, err, http.StatusOK)
	return err
}

// Info returns the daemon's version and the host's backends.
func (c *Client) Info(ctx context.Context) (api.Info, error) {
	resp, err := c.gen.GetInfo(ctx)
	return decode[api.Info](c, "info", resp, err, http.StatusOK)
}

// ListVMs returns every VM, sorted by name.
func (c *Client) ListVMs(ctx context.Context) ([]api.VM, error) {
	resp, err := c.gen.ListVMs(ctx)
	list, err := decode[api.VMList](c, "list VMs", resp, err, http.StatusOK)
	return list.VMs, err
}

// GetVM returns one VM.
func (c *Client) GetVM(ctx context.Context, name string) (api.VM, error) {
	resp, err := c.gen.GetVM(ctx, name)
	return decode[api.VM](c, "get VM "+name, resp, err, http.StatusOK)
}

// CreateVM records a new VM; backend "" or "auto" picks the host's default.
func (c *Client) CreateVM(ctx context.Context, name, backend string) (api.VM, error) {
	resp, err := c.gen.CreateVM(ctx, api.CreateVMRequest{Name: name, Backend: api.CreateVMRequestBackend(backend)})
	return decode[api.VM](c, "create VM "+name, resp, err, http.StatusCreated)
}

// DeleteVM removes a stopped VM and its data.
func (c *Client) DeleteVM(ctx context.Context, name string) error {
	resp, err := c.gen.DeleteVM(ctx, name)
	_, err = decode[struct{}](c, "delete VM "+name, resp, err, http.StatusNoContent)
	return err
}

// StartVM boots a VM and returns it running.
func (c *Client) StartVM(ctx context.Context, name string) (api.VM, error) {
	resp, err := c.gen.StartVM(ctx, name)
	return decode[api.VM](c, "start VM "+name, resp, err, http.StatusOK)
}

// StopVM shuts a VM down gracefully.
func (c *Client) StopVM(ctx context.Context, name string) (api.VM, error) {
	resp, err := c.gen.StopVM(ctx, name)
	return decode[api.VM](c, "stop VM "+name, resp, err, http.StatusOK)
}

// PauseVM freezes a running VM.
func (c *Client) PauseVM(ctx context.Context, name string) (api.VM, error) {
	resp, err := c.gen.PauseVM(ctx, name)
	return decode[api.VM](c, "pause VM "+name, resp, err, http.StatusOK)
}

// ResumeVM thaws a paused VM.
func (c *Client) ResumeVM(ctx context.Context, name string) (api.VM, error) {
	resp, err := c.gen.ResumeVM(ctx, name)
	return decode[api.VM](c, "resume VM "+name, resp, err, http.StatusOK)
}

// KillVM ends a VM at once.
func (c *Client) KillVM(ctx context.Context, name string) (api.VM, error) {
	resp, err := c.gen.KillVM(ctx, name)
	return decode[api.VM](c, "kill VM "+name, resp, err, http.StatusOK)
}

// Exec runs req.Argv in a running VM and waits for it. A non-zero exit is
// not an error; look at ExitCode.
func (c *Client) Exec(ctx context.Context, name string, req api.ExecRequest) (api.ExecResult, error) {
	resp, err := c.gen.ExecVM(ctx, name, req)
	return decode[api.ExecResult](c, fmt.Sprintf("exec in VM %s", name), resp, err, http.StatusOK)
}

// Logs returns up to limit recent log entries of a VM (0: the default).
func (c *Client) Logs(ctx context.Context, name string, limit int) ([]api.LogEntry, error) {
	var params *api.GetVMLogsParams
	if limit > 0 {
		params = &api.GetVMLogsParams{Limit: limit}
	}
	resp, err := c.gen.GetVMLogs(ctx, name, params)
	list, err := decode[api.LogList](c, "logs of VM "+name, resp, err, http.StatusOK)
	return list.Entries, err
}
