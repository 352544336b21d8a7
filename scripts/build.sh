#!/usr/bin/env bash
# Configure and build with CMake + Ninja.
#   scripts/build.sh [BUILD_DIR]        (default: build)
# Extra CMake options: RP_CMAKE_ARGS="-DFOO=ON -DBAR=x"
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build}
extra_args=()
if [[ -n ${RP_CMAKE_ARGS:-} ]]; then
  read -r -a extra_args <<<"$RP_CMAKE_ARGS"
fi

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${extra_args[@]}"
cmake --build "$build_dir" -j "$(nproc)"
