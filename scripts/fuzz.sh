#!/usr/bin/env bash
# Runs every fuzz target in the module for a short time each, so that
# `make test` exercises the committed corpora and a little beyond.
set -euo pipefail
fuzztime=${1:-5s}
targets=$(go list -f '{{.Dir}} {{.ImportPath}}' ./... | while read -r dir pkg; do
	for f in "$dir"/*_test.go; do
		[ -e "$f" ] || continue
		sed -nE 's/^func (Fuzz[A-Za-z0-9_]+)\(.*/\1/p' "$f" | while read -r fn; do echo "$pkg $fn"; done
	done
done)
[ -n "$targets" ] || { echo "no fuzz targets found" >&2; exit 1; }
n=0
while read -r pkg fn; do
	echo "fuzz $pkg $fn ($fuzztime)"
	if ! out=$(go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" "$pkg" 2>&1); then
		echo "$out" >&2
		exit 1
	fi
	n=$((n + 1))
done <<< "$targets"
echo "fuzzed $n targets"
