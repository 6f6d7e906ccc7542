#!/usr/bin/env bash
# Compare GET /v1/vms/default through the whole API with a bare net/http
# JSON handler, with wrk, in interleaved rounds on the same machine.
# Usage: bench/rest.sh [rounds] [duration]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
duration=${2:-10s}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/restbench" ./bench/restbench

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() { # mode -> prints "req/s p99 cpu-us-per-request"
	local mode=$1 out url token pid t0 t1 n
	"$bin/restbench" -mode "$mode" >"$bin/addr" 2>/dev/null &
	pid=$!
	for _ in $(seq 100); do [[ -s $bin/addr ]] && break; sleep 0.05; done
	read -r url token <"$bin/addr"
	t0=$(ticks "$pid")
	out=$(wrk -t2 -c64 -d"$duration" --latency -H "Authorization: Bearer $token" "$url/v1/vms/default")
	t1=$(ticks "$pid")
	kill "$pid"; wait "$pid" 2>/dev/null || true
	: >"$bin/addr"
	if grep -q "Non-2xx" <<<"$out"; then echo "$mode: non-2xx answers" >&2; exit 1; fi
	n=$(awk '/requests in/ {print $1}' <<<"$out")
	echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(awk '$1 == "99%" {print $2}' <<<"$out")" \
		"$(awk -v d=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", d * 1e6 / hz / n}')"
}

# Server CPU per request is the steadiest figure on a shared machine;
# req/s and p99 move with whatever else runs.
printf '%-6s %-6s %12s %10s %14s\n' round mode req/s p99 server-cpu-us
for r in $(seq "$rounds"); do
	for mode in bare api; do
		read -r rps p99 cpu < <(run "$mode")
		printf '%-6s %-6s %12s %10s %14s\n' "$r" "$mode" "$rps" "$p99" "$cpu"
	done
done
