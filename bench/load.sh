#!/usr/bin/env bash
# Load benchmark: wrk on loopback against a running `hotpot demo` (or `hotpot serve` with data), bounded
# in time. Prints throughput and latency percentiles for cached and uncached dashboard data, next to
# /healthz (the cost of HTTP alone, the baseline), and the server's RSS.
#   bench/load.sh <viewer-key> [base-url=http://127.0.0.1:8080] [seconds=15] [dashboard=brand_pulse]
set -euo pipefail
key=${1:?usage: bench/load.sh <viewer-key> [base-url] [seconds] [dashboard]}
base=${2:-http://127.0.0.1:8080}
duration=${3:-15}
dashboard=${4:-brand_pulse}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
case "$base" in http://127.*|http://localhost*) ;; *) echo "only loopback targets"; exit 2;; esac

lua=$(mktemp --suffix=.lua)
trap 'rm -f "$lua"' EXIT
# Every request asks for a different period (532 combinations), so most are cache misses.
cat > "$lua" <<LUA
math.randomseed(7)
request = function()
  local from = string.format("2026-10-%02d", math.random(1, 28))
  local to = string.format("2026-11-%02d", math.random(1, 19))
  return wrk.format(nil, "/v1/dashboards/$dashboard/data?from=" .. from .. "&to=" .. to)
end
LUA

run() {
  local label=$1; shift
  local out
  out=$(wrk -t2 -c16 -d"${duration}s" --latency -H "Authorization: Bearer $key" "$@")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '| %s | %s | %s | %s |\n' "$label" "$rps" "$p50" "$p99"
  grep -q "Non-2xx" <<<"$out" && grep "Non-2xx" <<<"$out" >&2 || true
}

curl -sf -o /dev/null -H "Authorization: Bearer $key" "$base/v1/dashboards/$dashboard/data"  # warm the cache
echo "| requests ($duration s, 16 connections) | req/s | p50 | p99 |"
echo "|---|---:|---:|---:|"
run "GET /healthz (HTTP baseline)" "$base/healthz"
run "dashboard $dashboard data, cached" "$base/v1/dashboards/$dashboard/data"
run "dashboard $dashboard data, mostly uncached" -s "$lua" "$base"
port=${base##*:}; port=${port%%/*}
pid=$(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)
[ -n "$pid" ] && echo "server RSS: $(( $(ps -o rss= -p "$pid") / 1024 )) MB"
