#!/usr/bin/env bash
# Installs readyprobe from the build tree into a temporary prefix, builds a separate consumer
# project against it with find_package (its main.cpp is the README's embedding example, taken
# verbatim), runs it, and checks its /health and its SIGTERM drain.
# Usage: run.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
work=$(mktemp -d /tmp/rpt-consumer-XXXXXX)
app_pid=
cleanup() {
  [[ -n $app_pid ]] && kill -9 "$app_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
mkdir -p "$work/app"
cp "$src/tests/consumer/CMakeLists.txt" "$work/app/"
# The fenced block right after the marker in README.md.
awk '/<!-- embedding-example -->/{found=1; next} found && /^```cpp/{inside=1; next} inside && /^```/{exit} inside{print}' \
  "$src/README.md" >"$work/app/main.cpp"
[[ -s $work/app/main.cpp ]] || { echo "no embedding example found in README.md" >&2; exit 1; }

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$work/app" -B "$work/app/build" "${generator[@]}" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/app/build" >/dev/null

# The example listens on 8080: run it in its own network namespace when we can, so a busy
# port on this machine cannot interfere; otherwise on the host.
run=()
if unshare --net true 2>/dev/null; then
  run=(unshare --net sh -c 'ip link set lo up && exec "$0"')
fi
READYPROBE_DRAIN=1s "${run[@]}" "$work/app/build/app" >"$work/log" 2>&1 &
app_pid=$!

probe() {
  # curl inside the same namespace as the app
  if [[ ${#run[@]} -gt 0 ]]; then
    nsenter --net=/proc/$app_pid/ns/net curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:8080$1" || true
  else
    curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:8080$1" || true
  fi
}
for _ in $(seq 100); do
  [[ $(probe /health) == 200 ]] && break
  sleep 0.1
done
[[ $(probe /health) == 200 ]] || { echo "consumer app never answered /health 200"; cat "$work/log"; exit 1; }
[[ $(probe /hello) == 200 ]] || { echo "consumer app /hello failed"; exit 1; }
[[ $(probe /livez) == 200 ]] || { echo "consumer app /livez failed"; exit 1; }
echo "consumer: /health 200 from an app built with find_package(readyprobe)"

kill -TERM "$app_pid"
sleep 0.2
code=$(probe /health)
[[ $code == 503 ]] || { echo "after SIGTERM /health answered $code, want 503"; exit 1; }
status=0
wait "$app_pid" || status=$?
app_pid=
[[ $status == 0 ]] || { echo "consumer app exited $status after SIGTERM, want 0"; cat "$work/log"; exit 1; }
echo "consumer: SIGTERM -> /health 503, then exit 0"
