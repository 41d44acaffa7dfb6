#!/usr/bin/env bash
# Retention soak: a steady ingest rate for many retention periods, sampling the store's
# disk use. With retention on, disk use climbs for one retention period, then stays flat.
# Usage: scripts/soak-retention.sh [retention] [duration] [spans_per_second]   (after `make release`)
#   defaults: 60s retention, 12m run (12 retention periods), 20000 spans/s
set -euo pipefail
retention=${1:-60s}
duration=${2:-12m}
rate=${3:-20000}
bin=${CARGO_TARGET_DIR:-$HOME/.cache/spangate/target}/release
work=$(mktemp -d /tmp/spangate-soak.XXXXXX)
source "$(dirname "$0")/bench-gateway.sh"
gateway=
loadgen=
trap 'kill $gateway $loadgen 2>/dev/null; wait $gateway 2>/dev/null; rm -rf "$work"' EXIT
start_gateway "$work" ", retention: $retention"

echo "== soak: retention $retention, $rate spans/s for $duration, gateway pid $gateway"
"$bin/spangate-loadgen" ingest --endpoint http://127.0.0.1:24317 --rate "$rate" \
  --duration "$duration" --concurrency 2 --pid "$gateway" --progress 0s > "$work/loadgen.txt" &
loadgen=$!
start=$(date +%s)
echo "elapsed_s disk_bytes spans_estimate buckets_deleted"
while kill -0 $loadgen 2>/dev/null; do
  sleep 30
  metrics=$(curl -sf http://127.0.0.1:23200/metrics || true)
  value() { awk -v name="$1" '$1 == name { print $2 }' <<<"$metrics" | head -1; }
  deleted=$(awk '/^spangate_store_buckets_deleted_total\{reason="retention"\}/ { print $2 }' <<<"$metrics")
  echo "$(( $(date +%s) - start )) $(du -sb "$work/data" | cut -f1) $(value spangate_store_spans) ${deleted:-0}"
done
wait $loadgen || true
cat "$work/loadgen.txt"
