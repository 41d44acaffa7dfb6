#!/usr/bin/env bash
# Installs the independent clients the end-to-end tests drive (Jaeger, Zipkin, …): each
# directory under tests/clients/ with a requirements.txt gets its own Python venv at
# $SPANGATE_CACHE/venvs/<directory> (several clients pin old, conflicting SDK versions),
# and each with a package.json gets its npm packages installed in place (node_modules,
# ignored by git). Fast when nothing changed.
set -euo pipefail
cache="${SPANGATE_CACHE:-$HOME/.cache/spangate}"
root="$(cd "$(dirname "$0")/.." && pwd)"
for dir in "$root"/tests/clients/*/; do
  name="$(basename "$dir")"
  if [ -f "$dir/requirements.txt" ]; then
    "$root/scripts/python-venv.sh" "$cache/venvs/$name" "$dir/requirements.txt"
  fi
  if [ -f "$dir/package.json" ]; then
    stamp="$dir/node_modules/.installed-$(cat "$dir/package.json" "$dir/package-lock.json" 2>/dev/null | sha256sum | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
      echo "setup: installing npm packages of tests/clients/$name"
      (cd "$dir" && npm install --no-audit --no-fund --silent)
      rm -f "$dir"/node_modules/.installed-*
      touch "$stamp"
    fi
  fi
done
