#!/usr/bin/env bash
# Install deps, build, and run the test suite against throwaway PostgreSQL/Redis.
# Override the ctest arguments with RP_CTEST_ARGS (--test-dir is kept).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh build

ctest_args=(--output-on-failure -j2 --timeout 300 --no-tests=error)
if [[ -n ${RP_CTEST_ARGS:-} ]]; then
  read -r -a ctest_args <<<"$RP_CTEST_ARGS"
fi
scripts/with-services.sh ctest --test-dir build "${ctest_args[@]}"
