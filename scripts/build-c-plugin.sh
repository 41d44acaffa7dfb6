#!/usr/bin/env bash
# Builds a C plugin project into a WebAssembly component.
#
#   scripts/build-c-plugin.sh <project-dir> <out.wasm> [--world processor-plugin|sampler-plugin] [-- extra clang flags]
#
# The project's sources are <project-dir>/src/*.c (headers in src/ or include/), written
# with sdk/c/spangate_plugin.h and exporting their plugin with SG_EXPORT_PROCESSOR or
# SG_EXPORT_SAMPLER (the world is taken from that unless --world is given). Steps:
#   1. `wit-bindgen c` generates the world's bindings from wit/plugin.wit;
#   2. clang-19 compiles the sources + sdk/c/glue/<kind>.c + the bindings to a wasm32-wasi
#      reactor core module (the bindings' component-type object carries the world);
#   3. `wasm-tools component new` (with the WASI preview1 reactor adapter only if the
#      module imports wasi_snapshot_preview1) makes the component;
#   4. `wasm-tools validate` checks it.
# Tools come from scripts/toolchain-c.sh (run first if missing). CFLAGS adds flags.
set -euo pipefail

usage() { sed -n '2,15p' "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
project="$(cd "$1" && pwd)"
out="$2"
shift 2
world=""
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --world) world="$2"; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        *) usage ;;
    esac
done

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sdk="$repo/sdk/c"
wit="$repo/wit/plugin.wit"
eval "$("$repo/scripts/toolchain-c.sh" --print-env)"

shopt -s nullglob
sources=("$project"/src/*.c)
[ ${#sources[@]} -gt 0 ] || { echo "build-c-plugin: no sources in $project/src/*.c" >&2; exit 1; }

if [ -z "$world" ]; then
    if grep -qs 'SG_EXPORT_SAMPLER' "${sources[@]}"; then
        world=sampler-plugin
    elif grep -qs 'SG_EXPORT_PROCESSOR' "${sources[@]}"; then
        world=processor-plugin
    else
        echo "build-c-plugin: no SG_EXPORT_PROCESSOR / SG_EXPORT_SAMPLER in $project/src; pass --world" >&2
        exit 1
    fi
fi
case "$world" in
    processor-plugin) glue="$sdk/glue/processor.c"; bindings_name=processor_plugin ;;
    sampler-plugin) glue="$sdk/glue/sampler.c"; bindings_name=sampler_plugin ;;
    *) echo "build-c-plugin: world $world is not supported by the C SDK (processor-plugin, sampler-plugin)" >&2; exit 1 ;;
esac

build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
"$SPANGATE_WIT_BINDGEN" c "$wit" --world "$world" --out-dir "$build/bindings" >"$build/wit-bindgen.log" 2>&1 || { cat "$build/wit-bindgen.log" >&2; exit 1; }

includes=(-I "$sdk" -I "$sdk/glue" -I "$build/bindings" -I "$project/src")
[ -d "$project/include" ] && includes+=(-I "$project/include")

# -mexec-model=reactor: a library-style module (no main), initialised by _initialize.
# CFLAGS (environment) and flags after -- come last, so they can override -O2.
# shellcheck disable=SC2206
user_flags=(${CFLAGS:-})
"$SPANGATE_CLANG" --target=wasm32-wasi -mexec-model=reactor -O2 -std=c11 \
    -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
    "${includes[@]}" "${user_flags[@]}" "${extra[@]}" \
    "${sources[@]}" "$glue" "$build/bindings/$bindings_name.c" \
    "$build/bindings/${bindings_name}_component_type.o" \
    -Wl,--strip-all -o "$build/core.wasm"
adapt=()
"$SPANGATE_WASM_TOOLS" print "$build/core.wasm" > "$build/core.wat"
if grep -q '(import "wasi_snapshot_preview1"' "$build/core.wat"; then
    adapt=(--adapt "wasi_snapshot_preview1=$SPANGATE_WASI_ADAPTER")
fi
mkdir -p "$(dirname "$out")"
"$SPANGATE_WASM_TOOLS" component new "$build/core.wasm" "${adapt[@]}" -o "$out"
"$SPANGATE_WASM_TOOLS" validate --features component-model "$out"
echo "build-c-plugin: $out ($world, $(wc -c < "$out") bytes${adapt:+, WASI adapter linked})"
