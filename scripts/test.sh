#!/usr/bin/env bash
# The README's command 2 (and .ci/run): install what is missing, build, and run the whole suite
# against throwaway PostgreSQL and Redis, then again under sanitizers:
#   1. build/       RelWithDebInfo: every test (unit, integration incl. the 2-minute soak,
#                   consumer, ECS, zero-downtime), one at a time (~7 min with the build)
#   2. build-asan/  ASan+UBSan: unit and integration tests (the real binary under ASan too)
#   3. build-tsan/  TSan: unit and integration tests (checks run on threads)
#   4. build-fuzz/  clang 14 + libFuzzer: every fuzz target for 30 s from the committed corpus
# Stages 2 to 4 add about 15 minutes; RP_SANITIZERS=0 skips them (a quick local run).
# RP_CTEST_ARGS overrides the ctest arguments of stage 1 (--test-dir is kept).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

stage() { printf '\n==== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

stage "build"
scripts/build.sh build
# One test at a time: the fault matrix and hostile-client tests assert response times (< 100 ms
# per /health during a fault) that another test loading the 2 cores could disturb (~4 min).
ctest_args=(--output-on-failure -j1 --timeout 300 --no-tests=error)
if [[ -n ${RP_CTEST_ARGS:-} ]]; then
  read -r -a ctest_args <<<"$RP_CTEST_ARGS"
fi
stage "suite"
scripts/with-services.sh ctest --test-dir build "${ctest_args[@]}"

if [[ ${RP_SANITIZERS:-1} == 0 ]]; then
  echo "sanitizer and fuzz stages skipped (RP_SANITIZERS=0)"
  exit 0
fi

# Any sanitizer report fails the test that triggered it: the process aborts with a non-zero
# exit code, in the test binaries and in the readyprobe/orders-service processes they start.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
# One test at a time here too: the soak, fault-matrix and hostile-client tests are timing-bound.
sanitized=(-R "^(unit|integration):" --output-on-failure -j1 --timeout 600 --no-tests=error)

stage "build ASan+UBSan"
RP_CMAKE_ARGS="-DREADYPROBE_SANITIZE=address" scripts/build.sh build-asan
stage "suite under ASan+UBSan"
scripts/with-services.sh ctest --test-dir build-asan "${sanitized[@]}"

stage "build TSan"
RP_CMAKE_ARGS="-DREADYPROBE_SANITIZE=thread" scripts/build.sh build-tsan
stage "suite under TSan"
scripts/with-services.sh ctest --test-dir build-tsan "${sanitized[@]}"

stage "fuzz targets, 30 s each"
tests/fuzz/run.sh build-fuzz 30
stage "done"
