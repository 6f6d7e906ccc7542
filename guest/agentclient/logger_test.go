//go:build linux

package agentclient_test

import (
	"log/slog"

	"github.com/velocitty/microvm/guest/logring"
)

func newLogger(ring *logring.Ring) *slog.Logger {
	return slog.New(logring.NewHandler(nil, ring, slog.LevelDebug))
}
