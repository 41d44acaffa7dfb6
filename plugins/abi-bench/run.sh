#!/usr/bin/env bash
# Builds the guest components and the host, then runs the ABI benchmark.
# Idempotent (cargo rebuilds only what changed). Extra arguments go to the
# bench, e.g. `./run.sh --iterations 200 --reps 9`.
set -euo pipefail
cd "$(dirname "$0")"

# Own target dir: never contends with the main workspace's cargo lock.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/spangate/abi-bench-target}"

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi

guests=()
for dir in guests/*/; do
    guests+=(-p "guest-$(basename "$dir")")
done

cargo build --locked --target wasm32-wasip2 --profile wasm "${guests[@]}"
cargo build --locked --release -p abi-bench-host
exec "$CARGO_TARGET_DIR/release/abi-bench" --wasm-dir "$CARGO_TARGET_DIR/wasm32-wasip2/wasm" "$@"
