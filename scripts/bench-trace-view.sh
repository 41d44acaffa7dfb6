#!/usr/bin/env bash
# Measures the built-in trace view in headless Chromium and prints the Markdown table
# recorded in BENCHMARKS.md ("Trace view"): first paint of GET / (Paint Timing API, with a
# one-line page as the floor of this machine's browser), the time to fetch, parse and
# render a seeded trace of SPANS spans (the view's performance marks), the waterfall's
# rows in the DOM, and frame times while it scrolls. Needs chromium and chromium-driver
# (scripts/setup-browser.sh). Uses the release gateway when it is built (`make release`),
# else the debug one; SPANGATE_BIN picks another.
# Usage: scripts/bench-trace-view.sh [spans] [runs]
set -euo pipefail
spans=${1:-10000}
runs=${2:-10}
cd "$(dirname "$0")/.."
"$(dirname "$0")/setup-browser.sh"
target=${CARGO_TARGET_DIR:-$HOME/.cache/spangate/target}
if [ -z "${SPANGATE_BIN:-}" ]; then
  if [ -x "$target/release/spangate" ]; then SPANGATE_BIN=$target/release/spangate
  else SPANGATE_BIN=$target/debug/spangate; fi
fi
export SPANGATE_BIN
echo "gateway: $SPANGATE_BIN; $(chromium --version 2>/dev/null | head -1); commit $(git rev-parse --short HEAD); $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
cargo run -q -p spangate-integration-tests --bin bench_trace_view -- --spans "$spans" --runs "$runs"
