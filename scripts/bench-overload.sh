#!/usr/bin/env bash
# Reproduces the overload soak in BENCHMARKS.md ("Overload and the memory limiter"):
#   1. what the gateway sustains: closed-loop ingest for 30 s, no memory budget;
#   2. the soak: a fresh gateway with limits.memory = $MEMORY, offered twice that rate
#      (paced senders, no retries, so every refusal is counted) for $SOAK_SECONDS; the
#      load generator samples the gateway's RSS;
#   3. the books: the spans the load generator saw acknowledged against the spans the
#      store holds (`spangate store inspect`), which must be equal.
# Usage: scripts/bench-overload.sh   (after `make release`)
# Env: SOAK_SECONDS (default 180), MEMORY (default 512MiB), SPANGATE_BIN.
set -euo pipefail
soak_seconds=${SOAK_SECONDS:-180}
memory=${MEMORY:-512MiB}
bin=${CARGO_TARGET_DIR:-$HOME/.cache/spangate/target}/release
loadgen="$bin/spangate-loadgen"
spangate="${SPANGATE_BIN:-$bin/spangate}"
work=$(mktemp -d /tmp/spangate-bench-overload.XXXXXX)
gateway=
stop_gateway() { [ -n "$gateway" ] && kill "$gateway" 2>/dev/null && wait "$gateway" 2>/dev/null; gateway=; }
trap 'stop_gateway; rm -rf "$work"' EXIT
source "$(dirname "$0")/bench-gateway.sh"
storage=", block_cache_mib: 64"
ingest() {
  "$loadgen" ingest --endpoint http://127.0.0.1:24317 --pid "$gateway" --batch-spans 500 \
    --json --progress 0s "$@"
}

echo "== 1. sustained rate: closed loop, 8 senders, 30 s, no memory budget"
start_gateway "$work" "$storage" ""
ingest --concurrency 8 --duration 30s > "$work/sustained.json"
stop_gateway
sustained=$(jq -r '.accepted_spans_per_second | floor' "$work/sustained.json")
offered=$((sustained * 2))
echo "sustained: $sustained spans/s; offering $offered spans/s"

echo "== 2. soak: limits.memory $memory, $offered spans/s offered for ${soak_seconds}s"
start_gateway "$work" "$storage" "limits: { memory: $memory }"
ingest --concurrency 64 --rate "$offered" --duration "${soak_seconds}s" --max-retries 0 \
  --timeout 30s > "$work/soak.json"
curl -sf http://127.0.0.1:23200/metrics > "$work/metrics.txt"
stop_gateway
jq '{offered_spans_per_second: '"$offered"', accepted_spans_per_second, requests_ok,
     requests_failed, spans_accepted, spans_failed, gateway: {peak_rss_sampled_mib: .gateway.peak_rss_sampled_mib,
     vm_hwm_mib: .gateway.vm_hwm_mib, alive_at_end: .gateway.alive_at_end}}' "$work/soak.json"
grep -E '^spangate_requests_refused_total\{[^}]*transport="grpc"' "$work/metrics.txt" | grep -v ' 0$' || true
grep -E '^spangate_memory_(reliefs_total|limit_bytes|soft_limit_bytes)' "$work/metrics.txt"

echo "== 3. the books: acknowledged spans against stored spans"
acknowledged=$(jq -r '.spans_accepted' "$work/soak.json")
stored=$("$spangate" store inspect --json "$work/data" | jq '[.tenants[].hot_spans] | add')
echo "acknowledged $acknowledged, stored $stored"
if [ "$acknowledged" != "$stored" ]; then
  echo "MISMATCH: acknowledged spans are not all stored" >&2
  exit 1
fi
