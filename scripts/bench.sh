#!/usr/bin/env bash
# Reproduces the figures in BENCHMARKS.md: ingest throughput, gateway CPU per span and
# peak RSS while loading 1M spans over OTLP/gRPC, then trace-by-id latency for 1,000
# random ids. Gateway and load generator share the machine, as in the recorded runs.
# Usage: scripts/bench.sh [total_spans] [concurrency]   (after `make release`)
# Env: FSYNC=never|always (storage.fsync, default never); STORAGE_EXTRA=", key: value" more
# storage keys (e.g. ", retention: 32s"); SPANGATE_BIN to bench another build.
set -euo pipefail
total_spans=${1:-1000000}
concurrency=${2:-4}
bin=${CARGO_TARGET_DIR:-$HOME/.cache/spangate/target}/release
work=$(mktemp -d /tmp/spangate-bench.XXXXXX)
source "$(dirname "$0")/bench-gateway.sh"
gateway=
trap 'kill $gateway 2>/dev/null; wait $gateway 2>/dev/null; rm -rf "$work"' EXIT
start_gateway "$work" ", fsync: ${FSYNC:-never}${STORAGE_EXTRA:-}"

echo "== ingest: $total_spans spans, $concurrency senders, gateway pid $gateway"
"$bin/spangate-loadgen" ingest --endpoint http://127.0.0.1:24317 \
  --total-spans "$total_spans" --duration 300s --concurrency "$concurrency" \
  --pid "$gateway" --settle 5s --write-ids "$work/ids.txt"

echo "== trace by id: 1000 random ids, protobuf, sequential"
"$bin/spangate-loadgen" lookup --query http://127.0.0.1:23200 --ids "$work/ids.txt" \
  --count 1000 --expect-spans 10
echo "== on disk right after loading (WAL included): $(du -sb "$work/data" | cut -f1) bytes"
