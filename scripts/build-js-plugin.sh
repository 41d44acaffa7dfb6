#!/usr/bin/env bash
# Builds a Spangate plugin written in JavaScript (or TypeScript) into a WebAssembly
# component.
#
#   scripts/build-js-plugin.sh <project-dir> <out.wasm> [--entry <file>] [--aot]
#
# <project-dir> is an npm project whose dependencies are installed (`npm install`; the
# SDK is `@spangate/plugin-sdk`, from sdk/js). The entry module (--entry, else
# package.json's "main", else src/plugin.js) exports `processor`, `sampler` or `metrics`
# (made with exportProcessor / exportSampler / exportMetrics): that choice picks the WIT
# world. Steps: esbuild bundles the entry and its imports into one ES module (with the
# SDK's `spangate-wasm` condition, so its host calls go to the `spangate:plugin/host`
# import), then componentize-js makes the component against wit/plugin.wit without
# wasi:http (`-d http fetch-event`). The toolchain is installed first if missing
# (scripts/toolchain-js.sh).
#
# --aot: ahead-of-time compile with weval (componentize-js `--aot`). weval is not
# published as a binary on npm (its npm package downloads one at run time, which this
# network refuses): build it with `cargo install weval --version 0.5.0 --locked` and
# point WEVAL_BIN at it.
set -euo pipefail

usage() {
  echo "usage: $0 <project-dir> <out.wasm> [--entry <file>] [--aot]" >&2
  exit 2
}
[ $# -ge 2 ] || usage
project="$(cd "$1" && pwd)"
out="$2"
shift 2
entry=""
aot=0
while [ $# -gt 0 ]; do
  case "$1" in
    --entry) entry="$2"; shift 2 ;;
    --aot) aot=1; shift ;;
    *) usage ;;
  esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wit="$here/../wit"
toolchain="$("$here/toolchain-js.sh" --print-dir)"
bin="$toolchain/node_modules/.bin"

if [ -z "$entry" ]; then
  entry="$(cd "$project" && node -p 'try { require("./package.json").main || "" } catch { "" }')"
  [ -n "$entry" ] || entry="src/plugin.js"
fi
[ -f "$project/$entry" ] || { echo "build-js-plugin: no entry module $project/$entry" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
started=$(date +%s.%N)

# 1. One ES module with everything the plugin imports, except the WIT imports.
"$bin/esbuild" "$project/$entry" --bundle --format=esm --platform=neutral \
  --conditions=spangate-wasm --external:'spangate:*' --target=es2022 \
  --outfile="$work/plugin.js" --metafile="$work/meta.json" --log-level=warning

# 2. The world, from what the module exports.
world="$(node -e '
  const meta = require(process.argv[1]);
  const exports = Object.values(meta.outputs).flatMap((o) => o.exports || []);
  const worlds = { processor: "processor-plugin", sampler: "sampler-plugin", metrics: "metrics-plugin" };
  const found = exports.filter((name) => name in worlds);
  if (found.length !== 1) {
    console.error(`build-js-plugin: the entry module must export exactly one of processor, sampler, metrics (it exports: ${exports.join(", ") || "nothing"})`);
    process.exit(1);
  }
  console.log(worlds[found[0]]);
' "$work/meta.json")"

# 3. The component.
args=("$work/plugin.js" --wit "$wit" --world-name "$world" -d http fetch-event -o "$work/out.wasm")
if [ "$aot" -eq 1 ]; then
  if [ -z "${WEVAL_BIN:-}" ] || [ ! -x "$WEVAL_BIN" ]; then
    echo "build-js-plugin: --aot needs WEVAL_BIN pointing at a weval 0.5.0 binary (cargo install weval --version 0.5.0 --locked)" >&2
    exit 1
  fi
  args+=(--aot --weval-bin "$WEVAL_BIN")
fi
(cd "$work" && "$bin/componentize-js" "${args[@]}" >&2)
mkdir -p "$(dirname "$out")"
mv "$work/out.wasm" "$out"

elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
size=$(stat -c %s "$out")
printf 'build-js-plugin: %s (%s world%s): %s bytes in %.1f s\n' \
  "$out" "$world" "$([ "$aot" -eq 1 ] && echo ', AOT')" "$size" "$elapsed" >&2
