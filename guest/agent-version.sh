#!/bin/sh
# Prints the agent's version: a hash of every source file compiled into
# microvm-agent (its own packages and their dependencies, tests excluded,
# the module path and version naming each dependency's files) and the Go
# version. Changes elsewhere in the repository leave it alone. The daemon redeploys the agent into a guest whose
# agent reports another version. Run from the repository root:
#   go build -ldflags "-X github.com/velocitty/microvm/guest/agentapi.Version=$(sh guest/agent-version.sh)" ...
set -eu
# One file list for every target: GOOS/GOARCH are pinned so that amd64 and
# arm64 builds of the same sources carry the same version.
GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go list -deps \
	-f '{{if not .Standard}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}' \
	./guest/cmd/microvm-agent |
	sed "s|^$(pwd)/||" | LC_ALL=C sort |
	while read -r f; do
		# Hash names relative to the checkout so the path of the clone
		# does not change the version.
		case "$f" in /*) printf '%s\n' "${f##*/pkg/mod/}" ;; *) printf '%s\n' "$f" ;; esac
		cat "$f"
	done | { cat; go env GOVERSION; } | sha256sum | cut -c1-16
