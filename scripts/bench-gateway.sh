# Sourced by the benchmark scripts: starts a release gateway on loopback ports 24317
# (OTLP/gRPC), 24318 (OTLP/HTTP) and 23200 (query) with a fresh data dir under $1, the
# extra `storage:` keys $2 (", key: value" pairs), more top-level YAML $3 (e.g.
# `exporters:`) and the `query:` keys of $QUERY_EXTRA (", key: value" pairs), sets
# $gateway to its pid and waits until it is ready. SPANGATE_BIN runs another build.
start_gateway() {
  local work=$1 storage_extra=${2:-} extra_yaml=${3:-}
  rm -rf "$work/data"
  cat > "$work/config.yaml" <<YAML
storage: { data_dir: "$work/data"$storage_extra }
receivers:
  otlp_grpc: { listen: "127.0.0.1:24317" }
  otlp_http: { listen: "127.0.0.1:24318" }
query: { listen: "127.0.0.1:23200"${QUERY_EXTRA:-} }
log: { level: warn }
$extra_yaml
YAML
  "${SPANGATE_BIN:-$bin/spangate}" --config "$work/config.yaml" &
  gateway=$!
  for _ in $(seq 1 100); do
    curl -sf http://127.0.0.1:23200/ready >/dev/null && return 0
    sleep 0.1
  done
  echo "gateway not ready after 10 s" >&2
  return 1
}
