#!/usr/bin/env bash
# Builds {{name}}.wasm, the plugin's WebAssembly component (Rust target wasm32-wasip2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx wasm32-wasip2; then
    echo "build.sh: the Rust target wasm32-wasip2 is missing: rustup target add wasm32-wasip2" >&2
    exit 1
fi
cargo build --target wasm32-wasip2 --release
# Where cargo put it (CARGO_TARGET_DIR or a cargo config may move target/).
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
cp "${target_dir:-target}/wasm32-wasip2/release/{{crate}}.wasm" {{name}}.wasm
echo "build.sh: {{name}}.wasm ($(wc -c < {{name}}.wasm) bytes)" >&2
