#!/usr/bin/env bash
# Installs the JavaScript plugin toolchain, pinned by sdk/js/toolchain/package-lock.json:
# componentize-js 0.23.0 (SpiderMonkey/StarlingMonkey + wizer 10.0.0), jco 1.35.0,
# esbuild 0.28.2 (bundles a plugin and its npm dependencies into one module) and
# typescript 7.0.2 (checks the SDK's .d.ts), all from npm, with `npm ci` into
#   ${SPANGATE_CACHE:-$HOME/.cache/spangate}/toolchains/js
# Idempotent and quick when already installed (a hash of the lock file is compared).
# Needs node >= 20 and npm; on Debian without node it installs the `nodejs` and `npm`
# packages with apt (Debian 12 ships node 18: untested, the SDK's tests want 20).
#
# Prints the toolchain directory on its last line when asked with --print-dir.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
spec="$here/../sdk/js/toolchain"
dir="${SPANGATE_CACHE:-$HOME/.cache/spangate}/toolchains/js"
print_dir=0
[ "${1:-}" = "--print-dir" ] && print_dir=1

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "toolchain-js: node/npm missing; installing Debian's nodejs and npm" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq nodejs npm >&2
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 18 ]; then
  echo "toolchain-js: node $(node --version) is too old (need >= 18; 20 is what is tested)" >&2
  exit 1
fi

stamp="$dir/.installed-$(cat "$spec/package.json" "$spec/package-lock.json" | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ -x "$dir/node_modules/.bin/componentize-js" ]; then
  [ "$print_dir" -eq 1 ] && echo "$dir"
  exit 0
fi

# One installer at a time (parallel builds may call this together); re-check under the lock.
mkdir -p "$(dirname "$dir")"
exec 9> "$dir.lock"
flock 9
if [ -f "$stamp" ] && [ -x "$dir/node_modules/.bin/componentize-js" ]; then
  [ "$print_dir" -eq 1 ] && echo "$dir"
  exit 0
fi

echo "toolchain-js: installing @bytecodealliance/componentize-js 0.23.0, @bytecodealliance/jco 1.35.0," \
  "esbuild 0.28.2, typescript 7.0.2 (npm ci) into $dir" >&2
mkdir -p "$dir"
cp "$spec/package.json" "$spec/package-lock.json" "$dir/"
rm -f "$dir"/.installed-*
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
touch "$stamp"
echo "toolchain-js: ready: $("$dir/node_modules/.bin/componentize-js" --version | sed 's/^/componentize-js /'), jco $(node -p "require('$dir/node_modules/@bytecodealliance/jco/package.json').version"), esbuild $("$dir/node_modules/.bin/esbuild" --version)" >&2
[ "$print_dir" -eq 1 ] && echo "$dir"
exit 0
