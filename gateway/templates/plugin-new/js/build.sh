#!/usr/bin/env bash
# Builds {{name}}.wasm, the plugin's WebAssembly component: esbuild bundles src/plugin.js
# and its imports into one ES module (with the SDK's `spangate-wasm` condition, so its
# host calls go to the `spangate:plugin/host` import), then componentize-js makes the
# component against wit/plugin.wit without wasi:http.
#
# The tools are Spangate's JavaScript toolchain under
# ${SPANGATE_CACHE:-$HOME/.cache/spangate}/toolchains/js (made by Spangate's
# scripts/toolchain-js.sh; without it, build.sh installs it with `npm ci` from the pinned
# vendor/toolchain/ package files).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
project="$PWD"

toolchain="${SPANGATE_CACHE:-$HOME/.cache/spangate}/toolchains/js"
spec="$project/vendor/toolchain"
bin="$toolchain/node_modules/.bin"
if [ ! -x "$bin/componentize-js" ] || [ ! -x "$bin/esbuild" ]; then
    echo "build.sh: installing the JavaScript plugin toolchain into $toolchain (npm ci)" >&2
    mkdir -p "$toolchain"
    cp "$spec/package.json" "$spec/package-lock.json" "$toolchain/"
    rm -f "$toolchain"/.installed-*
    (cd "$toolchain" && npm ci --no-audit --no-fund --loglevel=error >&2)
    touch "$toolchain/.installed-$(cat "$spec/package.json" "$spec/package-lock.json" | sha256sum | cut -c1-16)"
fi
if [ ! -d node_modules/@spangate/plugin-sdk ]; then
    npm install --no-audit --no-fund --loglevel=error >&2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin/esbuild" src/plugin.js --bundle --format=esm --platform=neutral \
    --conditions=spangate-wasm --external:'spangate:*' --target=es2022 \
    --outfile="$work/plugin.js" --log-level=warning
(cd "$work" && "$bin/componentize-js" "$work/plugin.js" --wit "$project/wit" \
    --world-name processor-plugin -d http fetch-event -o "$work/out.wasm" >&2)
mv "$work/out.wasm" {{name}}.wasm
echo "build.sh: {{name}}.wasm ($(wc -c < {{name}}.wasm) bytes)" >&2
