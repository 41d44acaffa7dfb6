#!/usr/bin/env bash
# Search benchmark (BENCHMARKS.md, "Search"), after `make release`; builds nothing.
#
#   scripts/bench-search.sh [spans] [--keep] [--tier blocks|hot]
#     Starts the gateway on a fresh temp data dir (loopback ports), ingests `spans` spans
#     (default 1000000) as 10-span traces from 10 services, lets flushes/compactions settle
#     for 5 s, then runs `spangate-loadgen search` (the fixed suite a_builder … e_rate_by_service,
#     see tools/loadgen/src/search.rs) and prints both reports. --tier blocks (default)
#     moves every span into columnar blocks before searching (storage.blocks.build_after
#     0s) and prints the blocks' bytes per span; --tier hot keeps them in the hot tier
#     (blocks off). --keep leaves the temp dir (data, config, gateway log, ingest.json,
#     search.json) in place and prints its path.
#
#   scripts/bench-search.sh --ingest-ratio BASELINE_BIN [spans] [rounds]
#     Ingest cost of indexing: alternating rounds (order swapped every round) of ingesting
#     `spans` spans (default 500000) into a fresh data dir with BASELINE_BIN (a spangate
#     binary built before indexing) and with the current binary; prints every run, the
#     median spans/s and CPU-µs/span of each, and the ratio current / baseline. Rounds
#     default to 3.
#
# Environment: CARGO_TARGET_DIR (binaries in $CARGO_TARGET_DIR/release, default
# $HOME/.cache/spangate/target), SPANGATE_BIN (the current gateway binary),
# SEARCH_ARGS (extra `spangate-loadgen search` options, e.g. "--count 50 --concurrency 2").
set -euo pipefail

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
  exit 2
}

keep=0
tier=blocks
baseline=
positional=()
while [ $# -gt 0 ]; do
  case $1 in
    --keep) keep=1 ;;
    --tier)
      [ $# -ge 2 ] && [[ $2 =~ ^(blocks|hot)$ ]] || usage
      tier=$2
      shift
      ;;
    --ingest-ratio)
      [ $# -ge 2 ] || usage
      baseline=$2
      shift
      ;;
    -h | --help) usage ;;
    -*) echo "unknown option $1" >&2; usage ;;
    *) positional+=("$1") ;;
  esac
  shift
done
for number in "${positional[@]}"; do
  [[ $number =~ ^[0-9]+$ ]] || { echo "not a number: $number" >&2; usage; }
done

bin=${CARGO_TARGET_DIR:-$HOME/.cache/spangate/target}/release
current=${SPANGATE_BIN:-$bin/spangate}
loadgen=$bin/spangate-loadgen
for binary in "$current" "$loadgen" ${baseline:+"$baseline"}; do
  [ -x "$binary" ] || { echo "missing binary $binary (run \`make release\` first)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/spangate-bench-search.XXXXXX)
gateway=
stop_gateway() {
  [ -n "$gateway" ] || return 0
  kill "$gateway" 2>/dev/null || true
  # Up to 30 s for a clean shutdown (it flushes the memtable), then SIGKILL.
  for _ in $(seq 1 300); do
    kill -0 "$gateway" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$gateway" 2>/dev/null || true
  wait "$gateway" 2>/dev/null || true
  gateway=
}
cleanup() {
  stop_gateway
  if [ "$keep" = 1 ]; then
    echo "kept $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Three free loopback ports (held together while chosen, so they differ).
ports=$(python3 -c '
import socket
sockets = [socket.socket() for _ in range(3)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))')
read -r grpc_port http_port query_port <<< "$ports"
query_url=http://127.0.0.1:$query_port

start_gateway() { # $1 = binary, $2 = directory (config, data, log)
  local binary=$1 dir=$2
  mkdir -p "$dir"
  {
    if [ "$tier" = blocks ]; then
      echo "storage: { data_dir: \"$dir/data\", blocks: { enabled: true, build_after: 0s, interval: 1s } }"
    else
      echo "storage: { data_dir: \"$dir/data\", blocks: { enabled: false } }"
    fi
    echo "receivers:"
    echo "  otlp_grpc: { listen: \"127.0.0.1:$grpc_port\" }"
    echo "  otlp_http: { listen: \"127.0.0.1:$http_port\" }"
    echo "query: { listen: \"127.0.0.1:$query_port\" }"
    echo "log: { level: warn }"
  } > "$dir/config.yaml"
  "$binary" --config "$dir/config.yaml" > "$dir/gateway.log" 2>&1 &
  gateway=$!
  for _ in $(seq 1 300); do # up to 30 s
    if ! kill -0 "$gateway" 2>/dev/null; then
      echo "gateway $binary exited during startup:" >&2
      tail -n 20 "$dir/gateway.log" >&2
      exit 1
    fi
    curl -sf --max-time 1 "$query_url/ready" > /dev/null && return 0
    sleep 0.1
  done
  echo "gateway $binary not ready after 30 s:" >&2
  tail -n 20 "$dir/gateway.log" >&2
  exit 1
}

ingest() { # $1 = spans, $2 = report file, then extra loadgen options
  local spans=$1 report=$2
  shift 2
  timeout 1200 "$loadgen" ingest --endpoint "http://127.0.0.1:$grpc_port" \
    --total-spans "$spans" --spans-per-trace 10 --services 10 --seed 42 \
    --concurrency 4 --duration 900s --pid "$gateway" --progress 0s --json "$@" > "$report"
}

# Prints "spans_per_second cpu_us_per_span" of an ingest report; fails on failed requests.
ingest_numbers() {
  python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["requests_failed_total"] == 0, r["requests_failed"]
print(f'{r["accepted_spans_per_second"]:.0f} {r["gateway"]["cpu_us_per_span"]}')
PY
}

if [ -n "$baseline" ]; then
  spans=${positional[0]:-500000}
  rounds=${positional[1]:-3}
  [ "${#positional[@]}" -le 2 ] || usage
  echo "ingest cost: $spans spans per run, $rounds rounds, baseline $baseline vs current $current"
  base_rates=(); base_cpus=(); cur_rates=(); cur_cpus=()
  for round in $(seq 1 "$rounds"); do
    if [ $((round % 2)) = 1 ]; then order="baseline current"; else order="current baseline"; fi
    for mode in $order; do
      dir=$work/$mode-$round
      if [ "$mode" = baseline ]; then binary=$baseline; else binary=$current; fi
      start_gateway "$binary" "$dir"
      ingest "$spans" "$dir/ingest.json"
      stop_gateway
      numbers=$(ingest_numbers "$dir/ingest.json")
      read -r rate cpu <<< "$numbers"
      echo "round $round, $mode: $rate spans/s, gateway $cpu CPU-us/span"
      if [ "$mode" = baseline ]; then
        base_rates+=("$rate"); base_cpus+=("$cpu")
      else
        cur_rates+=("$rate"); cur_cpus+=("$cpu")
      fi
      [ "$keep" = 1 ] || rm -rf "$dir"
    done
  done
  python3 - "${base_rates[*]}" "${cur_rates[*]}" "${base_cpus[*]}" "${cur_cpus[*]}" <<'PY'
import statistics, sys
base, cur, base_cpu, cur_cpu = ([float(x) for x in arg.split()] for arg in sys.argv[1:5])
b, c = statistics.median(base), statistics.median(cur)
bc, cc = statistics.median(base_cpu), statistics.median(cur_cpu)
print(f"median baseline: {b:.0f} spans/s, {bc:.2f} CPU-us/span; current: {c:.0f} spans/s, {cc:.2f} CPU-us/span")
print(f"ratio current / baseline: {c / b:.3f} spans/s, {cc / bc:.3f} CPU-us/span")
PY
  exit 0
fi

spans=${positional[0]:-1000000}
[ "${#positional[@]}" -le 1 ] || usage
start_gateway "$current" "$work"
echo "== ingest: $spans spans (10-span traces, 10 services, seed 42) into $work/data"
# --settle: wait 5 s after the last send for the memtable flush and compactions (their CPU is
# reported as "after settle").
ingest "$spans" "$work/ingest.json" --settle 5s
python3 - "$work/ingest.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
g = r["gateway"]
print(f'accepted {r["spans_accepted"]} spans in {r["elapsed_seconds"]:.2f} s = '
      f'{r["accepted_spans_per_second"]:.0f} spans/s; failed requests {r["requests_failed_total"]}')
print(f'gateway: {g["cpu_us_per_span"]} CPU-us/span during ingest, '
      f'{g["cpu_us_per_span_after_settle"]} CPU-us/span including the 5 s settle; '
      f'VmHWM {g["vm_hwm_mib"]} MiB')
PY
if ! python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["requests_failed_total"] != 0)' "$work/ingest.json"; then
  echo "ingest had failed requests; not searching" >&2
  exit 1
fi

if [ "$tier" = blocks ]; then
  # Every accepted span in a block before searching (the builder runs every second).
  accepted=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["spans_accepted"])' "$work/ingest.json")
  metric() { curl -s --max-time 5 "$query_url/metrics" | awk -v name="$1" '$1 == name { printf "%d", $2 }'; }
  cpu_before=$(awk '{ print $14 + $15 }' "/proc/$gateway/stat")
  waited=0
  until [ "$(metric spangate_block_spans)" -ge "$accepted" ] 2>/dev/null; do
    sleep 1
    waited=$((waited + 1))
    [ "$waited" -lt 1800 ] || { echo "spans not all in blocks after 30 min" >&2; exit 1; }
  done
  cpu_after=$(awk '{ print $14 + $15 }' "/proc/$gateway/stat")
  block_spans=$(metric spangate_block_spans)
  block_bytes=$(metric spangate_block_bytes)
  ticks=$(getconf CLK_TCK)
  python3 - "$block_spans" "$block_bytes" "$(metric spangate_blocks)" "$cpu_before" "$cpu_after" "$ticks" "$waited" <<'PY'
import sys
spans, size, blocks, cpu0, cpu1, ticks, waited = map(int, sys.argv[1:])
cpu_us = (cpu1 - cpu0) / ticks * 1e6
print(f"blocks: {spans} spans in {blocks} blocks, {size} bytes = {size / spans:.1f} bytes/span; "
      f"moved within {waited} s after ingest, gateway CPU meanwhile {cpu_us / spans:.2f} us/span "
      "(upper bound on building: includes whatever else ran)")
PY
  echo "data dir: $(du -sb "$work/data" | cut -f1) bytes in all (hot tier's RocksDB files + blocks)"
fi

status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$query_url/api/search?q=%7B%7D" || true)
[ "$status" = 200 ] || echo "warning: GET /api/search?q={} answered $status; the search cases will show errors" >&2

echo "== search"
# shellcheck disable=SC2086 # SEARCH_ARGS is a list of options
timeout 3600 "$loadgen" search --query "$query_url" --services 10 \
  --json-out "$work/search.json" ${SEARCH_ARGS:-}
