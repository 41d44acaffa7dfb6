#!/usr/bin/env bash
# Runs the fuzz targets of fuzz/ with libFuzzer (cargo-fuzz), each for SECONDS, one after
# the other, starting from the committed seeds (fuzz/corpus/<target>/seed-*); what the
# fuzzer grows and any crash input stay under fuzz/ (ignored by git).
#
#   scripts/fuzz.sh SECONDS [TARGET...]    (no TARGET: every target)
#   FUZZ_RUNS=N scripts/fuzz.sh ...        (also stop a target after N executions)
#
# Stable Rust: with `--sanitizer none` cargo-fuzz passes rustc no `-Z` flag (no ASan:
# the fuzzed code is safe Rust, and ASan would halve the executions). RUSTC_BOOTSTRAP=1
# is set all the same, always: build scripts of dependencies read it, so flipping it
# would rebuild everything. cargo-fuzz is installed once under the cache.
#
# The gateway links RocksDB: its C++ (~35 CPU-minutes) is taken prebuilt from the main
# build's target directory (librocksdb-sys honours ROCKSDB_LIB_DIR), so the fuzz build
# compiles only Rust. Without a main build it compiles RocksDB once more.
set -euo pipefail
cache="${SPANGATE_CACHE:-$HOME/.cache/spangate}"
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}"
shift

cargo_fuzz="$cache/toolchains/cargo-fuzz/bin/cargo-fuzz"
if [ ! -x "$cargo_fuzz" ]; then
  echo "setup: installing cargo-fuzz under $cache/toolchains/cargo-fuzz"
  cargo install --locked cargo-fuzz --version 0.13.2 --root "$cache/toolchains/cargo-fuzz"
fi

main_target="${CARGO_TARGET_DIR:-$cache/target}"
rocksdb="$(ls -t "$main_target"/debug/build/librocksdb-sys-*/out/librocksdb.a 2>/dev/null | head -n 1 || true)"
if [ -n "$rocksdb" ]; then
  export ROCKSDB_LIB_DIR="${rocksdb%/*}" ROCKSDB_STATIC=1
else
  echo "fuzz: no prebuilt RocksDB under $main_target/debug (run \`make build\` first); compiling it"
fi
export RUSTC_BOOTSTRAP=1
unset CARGO_TARGET_DIR
flags=(--sanitizer none --debug-assertions --codegen-units 16 --target-dir "$cache/fuzz-target")

cd "$root/fuzz"
"$cargo_fuzz" build "${flags[@]}"
if (($# == 0)); then
  mapfile -t targets < <("$cargo_fuzz" list)
else
  targets=("$@")
fi
mkdir -p logs
failed=()
for target in "${targets[@]}"; do
  echo "fuzz: $target for ${seconds}s (log: fuzz/logs/$target.log)"
  # The seeds' directory is also where libFuzzer keeps what it finds new.
  if "$cargo_fuzz" run "${flags[@]}" "$target" "corpus/$target" -- \
    -max_total_time="$seconds" ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} -timeout=20 -print_final_stats=1 \
    >"logs/$target.log" 2>&1; then
    result=ok
  else
    result="FAILED (input in fuzz/artifacts/$target/)"
    failed+=("$target")
  fi
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "logs/$target.log")"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "logs/$target.log")"
  took="$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "logs/$target.log")"
  echo "fuzz: $target: ${runs:-?} executions in ${took:-?} s, ${rate:-?} exec/s: $result"
done
if ((${#failed[@]})); then
  echo "fuzz: failed: ${failed[*]}; see fuzz/logs/<target>.log" >&2
  exit 1
fi
