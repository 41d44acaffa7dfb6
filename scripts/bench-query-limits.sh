#!/usr/bin/env bash
# Reproduces the query-limits figures in BENCHMARKS.md ("Pathological queries"): a
# release gateway holding 1M spans (100k traces of 10), query.query_timeout $TIMEOUT.
#   1. ingest alone for 30 s (closed loop, 4 senders): the baseline rate;
#   2. the same ingest while two clients run `{} >> {}` and a regex over an unindexed
#      attribute of every span back to back; each query's status and time are recorded.
# Reported: both ingest rates (their ratio is the cost of the queries to ingest) and the
# queries' statuses and times (504 at about the budget).
# Usage: scripts/bench-query-limits.sh   (after `make release`)
# Env: TIMEOUT (default 5s), SPANGATE_BIN.
set -euo pipefail
timeout=${TIMEOUT:-5s}
bin=${CARGO_TARGET_DIR:-$HOME/.cache/spangate/target}/release
loadgen="$bin/spangate-loadgen"
work=$(mktemp -d /tmp/spangate-bench-query-limits.XXXXXX)
gateway= clients=()
stop_gateway() { [ -n "$gateway" ] && kill "$gateway" 2>/dev/null && wait "$gateway" 2>/dev/null; gateway=; }
stop_clients() { for c in "${clients[@]}"; do kill "$c" 2>/dev/null || true; done; clients=(); }
trap 'stop_clients; stop_gateway; rm -rf "$work"' EXIT
source "$(dirname "$0")/bench-gateway.sh"
ingest() {
  "$loadgen" ingest --endpoint http://127.0.0.1:24317 --pid "$gateway" --concurrency 4 \
    --json --progress 0s "$@"
}
# Runs one query over and over, appending "status seconds" lines to $2.
query_loop() {
  while true; do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -G \
      --data-urlencode "q=$1" --data-urlencode "limit=100000" \
      http://127.0.0.1:23200/api/search >> "$2" || true
  done
}

QUERY_EXTRA=", query_timeout: $timeout" start_gateway "$work" "" ""
echo "== loading 1M spans"
ingest --total-spans 1000000 --duration 600s > /dev/null

echo "== 1. ingest alone, 30 s"
ingest --duration 30s > "$work/alone.json"

echo "== 2. ingest for 30 s while {} >> {} and a regex over every span run back to back"
query_loop '{} >> {}' "$work/structural.txt" & clients+=($!)
query_loop '{ span.enduser.id =~ ".*9.*8.*7.*x" }' "$work/regex.txt" & clients+=($!)
ingest --duration 30s > "$work/during.json"
stop_clients

alone=$(jq '.accepted_spans_per_second' "$work/alone.json")
during=$(jq '.accepted_spans_per_second' "$work/during.json")
echo "ingest alone: $alone spans/s; during the queries: $during spans/s; ratio $(jq -n "$during / $alone * 1000 | round / 1000")"
for kind in structural regex; do
  echo "$kind queries: $(awk '{n++; s[$1]++; t+=$2; if ($2>m) m=$2} END {for (c in s) printf "%s×%s ", s[c], c; printf "mean %.2f s, max %.2f s\n", t/n, m}' "$work/$kind.txt")"
done
