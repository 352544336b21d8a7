#!/usr/bin/env bash
# Build the libFuzzer targets if needed, run each for SECONDS, exit non-zero on any crash.
#   tests/fuzz/run.sh BUILD_DIR SECONDS
# BUILD_DIR is configured with clang++-14 and READYPROBE_FUZZ=ON when it does not exist yet.
# Targets run RP_FUZZ_JOBS at a time (default: the number of cores). Each starts from the
# committed seeds (tests/fuzz/corpus/<target>, which include every past crash input) plus what
# earlier runs found (BUILD_DIR/tests/fuzz/work/<target>/corpus); crash inputs and logs land in
# BUILD_DIR/tests/fuzz/work/<target>/ (cleared at the next run: copy a crash input worth
# keeping into the seed corpus).
set -euo pipefail

if (($# != 2)) || ! [[ $2 =~ ^[0-9]+$ ]] || (($2 < 1)); then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$1
seconds=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
jobs=${RP_FUZZ_JOBS:-$(nproc)}

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++-14 -DREADYPROBE_FUZZ=ON >/dev/null
elif ! grep -q '^READYPROBE_FUZZ:BOOL=ON$' "$build/CMakeCache.txt"; then
  echo "$build is not a fuzzing build directory (configure it with -DCMAKE_CXX_COMPILER=clang++-14" \
    "-DREADYPROBE_FUZZ=ON, or name a new directory)" >&2
  exit 2
fi
cmake --build "$build" --target fuzz_targets

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

targets=()
for f in "$src"/tests/fuzz/fuzz_*.cpp; do
  name=$(basename "$f" .cpp)
  targets+=("${name#fuzz_}")
done

run_one() {
  local name=$1
  local work=$build/tests/fuzz/work/$name
  rm -rf "$work/artifacts" "$work/rc"  # this run's crash inputs only
  mkdir -p "$work/corpus" "$work/artifacts"
  local rc=0
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a leak or a blow-up.
  "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -dict="$src/tests/fuzz/dict/$name.dict" -artifact_prefix="$work/artifacts/" \
    "$work/corpus" "$src/tests/fuzz/corpus/$name" >"$work/fuzz.log" 2>&1 || rc=$?
  echo "$rc" >"$work/rc"
}

failed=0
running=0
for name in "${targets[@]}"; do
  if ((running >= jobs)); then
    wait -n || true
    running=$((running - 1))
  fi
  echo "fuzz: $name for ${seconds} s"
  run_one "$name" &
  running=$((running + 1))
done

wait
for name in "${targets[@]}"; do
  work=$build/tests/fuzz/work/$name
  rc=$(cat "$work/rc" 2>/dev/null || echo 1)
  stats=$(grep -a -E '^#[0-9]+[[:space:]]+DONE' "$work/fuzz.log" | tail -1 || true)
  crashes=$(find "$work/artifacts" -type f | wc -l)
  if ((rc != 0 || crashes > 0)); then
    failed=1
    echo "FAIL $name (exit $rc, $crashes crash input(s) in $work/artifacts; log $work/fuzz.log)"
    grep -a -E 'FUZZ CHECK|ERROR:|what\(\)|SUMMARY' "$work/fuzz.log" | head -5 || true
  else
    echo "ok   $name: ${stats:-no stats} (log $work/fuzz.log)"
  fi
done
exit "$failed"
