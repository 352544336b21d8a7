#!/usr/bin/env bash
# Installs readyprobe from the build tree into a temporary prefix (not the configured one), MOVES
# that tree elsewhere, then builds the README's embedding example (taken verbatim) two ways
# against the moved tree, as an application would:
#   1. a separate CMake project with find_package(readyprobe) (CMAKE_PREFIX_PATH);
#   2. g++ main.cpp $(pkg-config --cflags --libs readyprobe)  (PKG_CONFIG_PATH, no --static).
# Each program is run: /health 200, /hello and /livez 200, SIGTERM -> /health 503, exit 0.
# Usage: run.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/rpt-consumer-XXXXXX")
app_pid=
cleanup() {
  [[ -n $app_pid ]] && kill -9 "$app_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cmake --install "$build" --prefix "$work/installed-here" >/dev/null
configured=$(sed -n 's/^CMAKE_INSTALL_PREFIX:[A-Z]*=//p' "$build/CMakeCache.txt")
mv "$work/installed-here" "$work/moved"
prefix=$work/moved
pcdir=$(dirname "$(find "$prefix" -name readyprobe.pc -print -quit)")
[[ -f $pcdir/readyprobe.pc ]] || fail "no readyprobe.pc installed under $prefix"
# Nothing in the installed package may name the configured or the original install prefix.
if grep -rIl -e "$work/installed-here" ${configured:+-e "$configured"} "$pcdir/readyprobe.pc" \
  "$(dirname "$pcdir")/cmake/readyprobe/"; then
  fail "the installed package files above name a fixed prefix ($configured or $work/installed-here)"
fi

mkdir -p "$work/app"
cp "$src/tests/consumer/CMakeLists.txt" "$work/app/"
# The fenced block right after the marker in README.md.
awk '/<!-- embedding-example -->/{found=1; next} found && /^```cpp/{inside=1; next} inside && /^```/{exit} inside{print}' \
  "$src/README.md" >"$work/app/main.cpp"
[[ -s $work/app/main.cpp ]] || fail "no embedding example found in README.md"

# 1. find_package
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$work/app" -B "$work/app/build" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/app/build" >/dev/null || fail "the find_package(readyprobe) build failed"

# 2. pkg-config, exactly as the README says (the flags must point into the moved tree).
export PKG_CONFIG_PATH=$pcdir
cflags=$(pkg-config --cflags readyprobe)
libs=$(pkg-config --libs readyprobe)
[[ $cflags == *"-I$pcdir/../../include"* || $cflags == *"-I$prefix/include"* ]] ||
  fail "pkg-config --cflags readyprobe does not point into the moved prefix: $cflags"
[[ $(pkg-config --variable=prefix readyprobe) -ef $prefix ]] ||
  fail "pkg-config prefix $(pkg-config --variable=prefix readyprobe) is not the moved prefix $prefix"
# shellcheck disable=SC2046,SC2086 # the flags are meant to split
g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -o "$work/app-pkgconfig" "$work/app/main.cpp" $cflags $libs ||
  fail "g++ main.cpp \$(pkg-config --cflags --libs readyprobe) failed (libs: $libs)"
echo "consumer: built with find_package and with pkg-config (libs: $libs) against a moved prefix"

# The example listens on 8080: run it in its own network namespace when we can, so a busy
# port on this machine cannot interfere; otherwise on the host.
run=()
if unshare --net true 2>/dev/null; then
  run=(unshare --net sh -c 'ip link set lo up && exec "$0"')
fi
probe() {
  # curl inside the same namespace as the app
  if [[ ${#run[@]} -gt 0 ]]; then
    nsenter --net=/proc/$app_pid/ns/net curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:8080$1" || true
  else
    curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:8080$1" || true
  fi
}

run_app() { # NAME BINARY
  local name=$1 binary=$2 code status=0
  READYPROBE_DRAIN=1s "${run[@]}" "$binary" >"$work/log" 2>&1 &
  app_pid=$!
  for _ in $(seq 100); do
    [[ $(probe /health) == 200 ]] && break
    sleep 0.1
  done
  [[ $(probe /health) == 200 ]] || { cat "$work/log"; fail "$name: the app never answered /health 200"; }
  [[ $(probe /hello) == 200 ]] || fail "$name: /hello failed"
  [[ $(probe /livez) == 200 ]] || fail "$name: /livez failed"
  echo "consumer ($name): /health 200"

  kill -TERM "$app_pid"
  sleep 0.2
  code=$(probe /health)
  [[ $code == 503 ]] || fail "$name: after SIGTERM /health answered $code, want 503"
  wait "$app_pid" || status=$?
  app_pid=
  [[ $status == 0 ]] || { cat "$work/log"; fail "$name: the app exited $status after SIGTERM, want 0"; }
  echo "consumer ($name): SIGTERM -> /health 503, then exit 0"
}
run_app find_package "$work/app/build/app"
run_app pkg-config "$work/app-pkgconfig"
