#!/usr/bin/env bash
# Builds a Python plugin project into a WebAssembly component with componentize-py.
#
#   scripts/build-python-plugin.sh <project-dir> <out.wasm>
#
# The project directory holds the app module (`app.py` by default) that registers its
# plugin class with one line: `Processor = export_processor(MyPlugin)` (or
# `Sampler = export_sampler(...)`, `Metrics = export_metrics(...)`), which also picks
# the WIT world. The SDK (sdk/python/src) and the contract (wit/) come from the
# Spangate checkout this script is in; the toolchain is installed on first use
# (scripts/toolchain-python.sh).
#
# Environment:
#   PLUGIN_MODULE  the app module's name (default: app)
#   PLUGIN_WORLD   processor-plugin | sampler-plugin | metrics-plugin (default: from
#                  the registration line)
#   PLUGIN_PYTHONPATH  extra directories (colon-separated) holding the plugin's pure
#                  Python dependencies, e.g. a `pip install --target` directory
#   PLUGIN_VERIFY  1 (default): check the component's exports and imports with
#                  wasm-tools; 0: skip
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 <project-dir> <out.wasm>" >&2
    exit 2
fi
project="$(cd "$1" && pwd)"
out="$2"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module="${PLUGIN_MODULE:-app}"
bin="$("$root/scripts/toolchain-python.sh" --print-bin)"

if [ ! -f "$project/$module.py" ]; then
    echo "build-python-plugin: $project/$module.py not found (set PLUGIN_MODULE for another module name)" >&2
    exit 1
fi

world="${PLUGIN_WORLD:-}"
if [ -z "$world" ]; then
    registrations="$(grep -Eo '^(Processor|Sampler|Metrics)[[:space:]]*=' "$project/$module.py" | tr -d ' =' | sort -u || true)"
    case "$registrations" in
        Processor) world=processor-plugin ;;
        Sampler) world=sampler-plugin ;;
        Metrics) world=metrics-plugin ;;
        *)
            echo "build-python-plugin: $module.py must register exactly one plugin class at top level:" >&2
            echo "  Processor = export_processor(MyPlugin)   (or Sampler = export_sampler(...), Metrics = export_metrics(...))" >&2
            echo "  or set PLUGIN_WORLD" >&2
            exit 1
            ;;
    esac
fi
case "$world" in
    processor-plugin) export_name=processor ;;
    sampler-plugin) export_name=sampler ;;
    metrics-plugin) export_name=metrics ;;
    *) echo "build-python-plugin: unknown world $world" >&2; exit 1 ;;
esac

paths=(-p "$project" -p "$root/sdk/python/src")
if [ -n "${PLUGIN_PYTHONPATH:-}" ]; then
    IFS=: read -r -a extra <<<"$PLUGIN_PYTHONPATH"
    for dir in "${extra[@]}"; do
        [ -n "$dir" ] && paths+=(-p "$dir")
    done
fi

mkdir -p "$(dirname "$out")"
started=$(date +%s%N)
# No VIRTUAL_ENV: componentize-py would add the toolchain venv's site-packages (pytest,
# wasmtime) to the app's path. Only imported modules end up in the component anyway.
# Run from a scratch directory, as componentize-py also adds the working directory.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
out_abs="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
(cd "$scratch" && env -u VIRTUAL_ENV "$bin/componentize-py" -q -d "$root/wit" -w "$world" \
    componentize "$module" "${paths[@]}" -o "$out_abs.tmp")
mv "$out_abs.tmp" "$out_abs"
finished=$(date +%s%N)

if [ "${PLUGIN_VERIFY:-1}" = 1 ]; then
    wit="$("$bin/wasm-tools" component wit "$out_abs")"
    if ! grep -q "export spangate:plugin/$export_name@0.2.0;" <<<"$wit"; then
        echo "build-python-plugin: $out does not export spangate:plugin/$export_name@0.2.0" >&2
        exit 1
    fi
    # Only the host interface and WASI interfaces the gateway links (no wasi:http).
    unexpected="$(grep -E '^\s*import ' <<<"$wit" \
        | grep -vE 'import (spangate:plugin/(host|types)@0\.2\.0|wasi:(cli|io|clocks|random|filesystem|sockets)/[a-z-]+@0\.2\.[0-9]+);' || true)"
    if [ -n "$unexpected" ]; then
        echo "build-python-plugin: $out imports interfaces the gateway does not provide:" >&2
        echo "$unexpected" >&2
        exit 1
    fi
fi
size=$(stat -c %s "$out_abs")
echo "build-python-plugin: $out ($world, $((size / 1024)) KiB) built in $(((finished - started) / 1000000)) ms" >&2
