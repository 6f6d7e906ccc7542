#!/usr/bin/env bash
# Runs every fuzz target in the module for a short time each, so that
# `make test` exercises the committed corpora and a little beyond.
set -euo pipefail
fuzztime=${1:-5s}
go list -f '{{.Dir}} {{.ImportPath}}' ./... | while read -r dir pkg; do
	grep -hoE '^func (Fuzz[A-Za-z0-9_]+)\(' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' | while read -r fn; do
		echo "fuzz $pkg $fn ($fuzztime)"
		go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" "$pkg" >/dev/null
	done
done
