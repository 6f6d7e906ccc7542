package client

import (
	"context"
	"net/http"

	"github.com/velocitty/microvm/api"
)

// ConsoleLogin mints a one-time link that logs a browser into the web
// console. The link works once, within a minute.
func (c *Client) ConsoleLogin(ctx context.Context) (api.ConsoleLogin, error) {
	resp, err := c.gen.CreateConsoleLogin(ctx)
	return decode[api.ConsoleLogin](c, "console login", resp, err, http.StatusOK)
}
