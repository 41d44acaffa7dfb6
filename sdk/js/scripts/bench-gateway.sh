#!/usr/bin/env bash
# A plugin's time per span inside the gateway's calls: starts spangate with the plugin
# as the only pipeline stage, sends spans with spangate-loadgen over OTLP/gRPC, then reads
# spangate_plugin_call_seconds_total / spangate_plugin_spans_total (the host's column
# building, the call and the edits' checks and application; not the rest of ingest).
#
#   sdk/js/scripts/bench-gateway.sh <plugin.wasm> [spans=50000] [batch=500] [config-yaml]
#
# SPANGATE_BIN / SPANGATE_LOADGEN: the binaries (default: the debug builds under
# ${CARGO_TARGET_DIR:-~/.cache/spangate/target}). The default config is the reference
# plugin's, masking an attribute the load generator sends.
set -euo pipefail
wasm=$(realpath "$1")
spans=${2:-50000}
batch=${3:-500}
config=${4:-'{ mask_keys: [http.request.method, user.email], slow_ms: 100, drop_name: "GET /healthz" }'}
target=${CARGO_TARGET_DIR:-$HOME/.cache/spangate/target}
spangate=${SPANGATE_BIN:-$target/debug/spangate}
loadgen=${SPANGATE_LOADGEN:-$target/debug/spangate-loadgen}
dir=$(mktemp -d /tmp/spangate-bench-gateway.XXXXXX)
gateway=
cleanup() {
  [ -n "$gateway" ] && kill "$gateway" 2>/dev/null && wait "$gateway" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

cat > "$dir/config.yaml" <<YAML
storage: { data_dir: "$dir/data" }
receivers:
  otlp_grpc: { listen: "127.0.0.1:25317" }
  otlp_http: { listen: "127.0.0.1:25318" }
query: { listen: "127.0.0.1:25200" }
log: { level: warn }
pipeline:
  - plugin: $wasm
    name: bench
    on_error: drop
    config: $config
    limits: { memory: 256MiB, call_timeout: 5s }
YAML
started=$(date +%s.%N)
"$spangate" --config "$dir/config.yaml" > "$dir/gateway.log" 2>&1 &
gateway=$!
for _ in $(seq 1 1200); do
  curl -sf http://127.0.0.1:25200/ready > /dev/null && break
  sleep 0.1
done
echo "gateway ready (plugin compiled) after $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
"$loadgen" ingest --endpoint http://127.0.0.1:25317 --total-spans "$spans" --duration 600s \
  --concurrency 1 --batch-spans "$batch" --seed 42 --progress 0s --json > "$dir/report.json"
curl -sf http://127.0.0.1:25200/metrics > "$dir/metrics.txt"
python3 - "$dir/metrics.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def value(name, extra=''):
    m = re.search(r'^' + name + r'\{[^}]*plugin="bench"[^}]*' + extra + r'[^}]*\} ([0-9.e+-]+)', text, re.M)
    return float(m.group(1)) if m else 0.0
seconds, spans, calls = (value('spangate_plugin_call_seconds_total'), value('spangate_plugin_spans_total'),
                         value('spangate_plugin_calls_total'))
failures = sum(float(v) for v in re.findall(r'^spangate_plugin_failures_total\{[^}]*plugin="bench"[^}]*\} ([0-9.e+-]+)', text, re.M))
print(f"{spans:.0f} spans in {calls:.0f} calls, {failures:.0f} failures: "
      f"{seconds * 1e6 / max(spans, 1):.1f} µs/span, {seconds * 1e3 / max(calls, 1):.2f} ms/call inside calls")
PY
