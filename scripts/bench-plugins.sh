#!/usr/bin/env bash
# Ingest throughput without plugins vs. with the three built-ins (span-metrics,
# redaction, sampling keeping everything), end to end over OTLP/gRPC with the load
# generator, in alternating rounds so both see the same machine load. Prints each run
# and the ratio of the medians (BENCHMARKS.md, "Plugins").
# With the built-ins it also prints each plugin's time per span in the gateway, read
# from `spangate_plugin_call_seconds_total` / `spangate_plugin_spans_total` at the end.
# Usage: scripts/bench-plugins.sh [spans_per_run] [rounds] [spans_per_request]
# (after `make release`; 100 spans per request unless given — SDKs send up to 512).
# PIPELINE_FILE=file.yaml replaces the three built-ins with that file's `pipeline:` (and
# `plugins:`) sections, e.g. a Python or JavaScript plugin; refused requests (backpressure)
# are then reported instead of failing the run.
set -euo pipefail
spans=${1:-500000}
rounds=${2:-3}
batch=${3:-100}
bin=${CARGO_TARGET_DIR:-$HOME/.cache/spangate/target}/release
work=$(mktemp -d /tmp/spangate-bench-plugins.XXXXXX)
gateway=
cleanup() {
  [ -n "$gateway" ] && kill "$gateway" 2>/dev/null && wait "$gateway" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

pipeline_builtins='pipeline:
  - plugin: builtin:span-metrics
    config: {span_metrics: {dimensions: [http.request.method]}}
  - plugin: builtin:redaction
    config:
      blocked_keys: [password, "*.secret", http.request.header.authorization]
      value_patterns: [credit_card, email, bearer_token, ipv4]
      action: mask
  - plugin: builtin:sampling
    config: {head: {probability: 1.0}}'

run_once() { # $1 = none|builtins; prints "spans_per_second cpu_us_per_span"
  local mode=$1 dir="$work/$1-$RANDOM"
  mkdir -p "$dir"
  {
    echo "storage: { data_dir: \"$dir/data\" }"
    echo "receivers:"
    echo "  otlp_grpc: { listen: \"127.0.0.1:24317\" }"
    echo "  otlp_http: { listen: \"127.0.0.1:24318\" }"
    echo "query: { listen: \"127.0.0.1:23200\" }"
    echo "log: { level: warn }"
    if [ "$mode" = builtins ]; then
      if [ -n "${PIPELINE_FILE:-}" ]; then cat "$PIPELINE_FILE"; else echo "$pipeline_builtins"; fi
    fi
  } > "$dir/config.yaml"
  "${SPANGATE_BIN:-$bin/spangate}" --config "$dir/config.yaml" &
  gateway=$!
  for _ in $(seq 1 200); do
    curl -sf http://127.0.0.1:23200/ready >/dev/null && break
    sleep 0.1
  done
  "$bin/spangate-loadgen" ingest --endpoint http://127.0.0.1:24317 \
    --total-spans "$spans" --duration 300s --concurrency 4 --pid "$gateway" \
    --batch-spans "$batch" --seed 42 --progress 0s --json > "$dir/report.json"
  curl -sf http://127.0.0.1:23200/metrics > "$dir/metrics.txt"
  kill "$gateway"; wait "$gateway" 2>/dev/null || true
  gateway=
  python3 - "$dir/report.json" "$dir/metrics.txt" <<'PY'
import json, os, re, sys
r = json.load(open(sys.argv[1]))
if not os.environ.get("PIPELINE_FILE"):
    assert r["requests_failed_total"] == 0, r["requests_failed"]
totals = {}
for line in open(sys.argv[2]):
    m = re.match(r'spangate_plugin_(call_seconds|spans)_total\{plugin="([^"]+)"[^}]*\} (\S+)', line)
    if m:
        totals.setdefault(m.group(2), {})[m.group(1)] = float(m.group(3))
per_plugin = " ".join(
    f'{name}={t["call_seconds"] / t["spans"] * 1e9:.0f}'
    for name, t in totals.items() if t.get("spans")
)
refused = f' refused={r["requests_failed_total"]}' if r["requests_failed_total"] else ""
print(f'{r["accepted_spans_per_second"]:.0f} {r["gateway"]["cpu_us_per_span"]} {per_plugin}{refused}')
PY
  rm -rf "$dir"
}

none=(); builtins=()
for round in $(seq 1 "$rounds"); do
  for mode in none builtins; do
    read -r rate cpu plugins < <(run_once "$mode")
    echo "round $round, $mode: $rate spans/s, gateway $cpu CPU-us/span${plugins:+; ns/span in plugins (wall): $plugins}"
    if [ "$mode" = none ]; then none+=("$rate"); else builtins+=("$rate"); fi
  done
done
python3 - "${none[*]}" "${builtins[*]}" <<'PY'
import statistics, sys
none = [float(x) for x in sys.argv[1].split()]
builtins = [float(x) for x in sys.argv[2].split()]
a, b = statistics.median(none), statistics.median(builtins)
print(f"median without plugins: {a:.0f} spans/s; with the plugins: {b:.0f} spans/s")
print(f"ratio with / without: {b / a:.2f}")
PY
