#!/usr/bin/env bash
# Reproduces the forwarding figures in BENCHMARKS.md ("Forwarding"): a pure gateway
# (storage off) forwarding over OTLP/gRPC to a counting sink (`spangate-loadgen sink`).
#   1. forward-only throughput and the gateway's CPU per span, without and with gzip,
#      against the same gateway storing instead of forwarding (baseline of the run);
#   2. drain rate of a queue filled while the upstream was down;
#   3. the gateway's RSS while the upstream stays down for DOWN_SECONDS at a steady rate
#      (the queue bounded by queue.max_bytes; refusals once full).
# Usage: scripts/bench-forward.sh [total_spans] [concurrency]   (after `make release`)
# Env: DOWN_SECONDS (default 180), DOWN_RATE spans/s (default 20000), SPANGATE_BIN,
# PHASES (a subset of "throughput drain down").
set -euo pipefail
total_spans=${1:-1000000}
concurrency=${2:-4}
down_seconds=${DOWN_SECONDS:-180}
down_rate=${DOWN_RATE:-20000}
bin=${CARGO_TARGET_DIR:-$HOME/.cache/spangate/target}/release
loadgen="$bin/spangate-loadgen"
work=$(mktemp -d /tmp/spangate-bench-forward.XXXXXX)
gateway= sink=
stop_sink() { [ -n "$sink" ] && kill -INT "$sink" 2>/dev/null && wait "$sink" 2>/dev/null; sink=; }
stop_gateway() { [ -n "$gateway" ] && kill "$gateway" 2>/dev/null && wait "$gateway" 2>/dev/null; gateway=; }
trap 'stop_gateway; stop_sink; rm -rf "$work"' EXIT

source "$(dirname "$0")/bench-gateway.sh"
# $1: a name (unused: one gateway at a time), $2: `storage:` keys, $3: exporters YAML.
start() { start_gateway "$work" "$2" "$3"; }
start_sink() {
  "$loadgen" sink --listen 127.0.0.1:24417 2>/dev/null &
  sink=$!
  sleep 0.5
}
exporter() {
  echo "exporters:
  - { name: sink, protocol: grpc, endpoint: \"http://127.0.0.1:24417\", compression: $1,
      queue: { max_bytes: ${2:-1GiB} }, retry: { initial_interval: 200ms, max_interval: 1s } }"
}
queued_batches() {
  curl -sf http://127.0.0.1:23200/metrics | awk '/^spangate_exporter_queue_batches/ {s+=$2} END {print s+0}'
}
ingest() {
  "$loadgen" ingest --endpoint http://127.0.0.1:24317 --duration "${DURATION:-600s}" \
    --concurrency "$concurrency" --pid "$gateway" "$@"
}

# PHASES: any of throughput, drain, down (default all three).
phases=${PHASES:-throughput drain down}
for round in 1 2; do
  [[ " $phases " == *" throughput "* ]] || break
  echo "== round $round: storing, no exporter (baseline): $total_spans spans"
  start store "" ""
  ingest --total-spans "$total_spans"
  stop_gateway

  for compression in none gzip; do
    echo "== round $round: forwarding only (storage off), compression $compression: $total_spans spans"
    start_sink
    start forward ", enabled: false" "$(exporter $compression)"
    ingest --total-spans "$total_spans"
    for _ in $(seq 1 600); do [ "$(queued_batches)" = 0 ] && break; sleep 0.1; done
    echo "queue after the run: $(queued_batches) batches"
    stop_gateway
    stop_sink
  done
done

if [[ " $phases " == *" drain "* ]]; then
echo "== drain: $total_spans spans queued while the upstream is down, then it comes up"
start drain ", enabled: false" "$(exporter none)"
ingest --total-spans "$total_spans" --progress 0s
echo "queued: $(queued_batches) batches, $(du -sb "$work/data" | cut -f1) bytes on disk"
start_sink
started=$(date +%s.%N)
for _ in $(seq 1 3000); do [ "$(queued_batches)" = 0 ] && break; sleep 0.1; done
ended=$(date +%s.%N)
echo "drained $total_spans spans in $(echo "$ended - $started" | bc) s"
stop_gateway
stop_sink
fi

[[ " $phases " == *" down "* ]] || exit 0
echo "== upstream down for ${down_seconds}s at $down_rate spans/s, queue.max_bytes 256MiB"
start down ", enabled: false" "$(exporter none 256MiB)"
DURATION="${down_seconds}s" ingest --rate "$down_rate" --max-retries 0 --progress 30s &
load=$!
for _ in $(seq 1 $((down_seconds / 10))); do
  sleep 10
  rss=$(awk '/^VmRSS/ {print $2}' /proc/$gateway/status)
  echo "t+$(( SECONDS ))s rss_kib=$rss queued_batches=$(queued_batches) refused=$(curl -sf http://127.0.0.1:23200/metrics | awk '/^spangate_requests_refused_total.*queue_full/ {s+=$2} END {print s+0}')"
done
wait $load || true
echo "peak RSS: $(awk '/^VmHWM/ {print $2}' /proc/$gateway/status) KiB"
