#!/usr/bin/env bash
# Installs a built `spangate` binary as PREFIX/bin/spangate (default PREFIX ~/.local)
# and says how to put that directory on PATH when it is not there yet.
# Usage: scripts/install.sh BINARY [PREFIX]
set -euo pipefail

binary=${1:?usage: scripts/install.sh BINARY [PREFIX]}
prefix=${2:-$HOME/.local}
[ -x "$binary" ] || { echo "install: $binary is not an executable (build it first: make release)" >&2; exit 1; }

mkdir -p "$prefix/bin"
# Copy then rename, so a running spangate keeps its (old) file and nobody sees half a binary.
install -m 0755 "$binary" "$prefix/bin/.spangate.new"
mv -f "$prefix/bin/.spangate.new" "$prefix/bin/spangate"
echo "installed $("$prefix/bin/spangate" --version) as $prefix/bin/spangate"

case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on PATH; add it, e.g.: echo 'export PATH=\"$prefix/bin:\$PATH\"' >> ~/.bashrc" ;;
esac
