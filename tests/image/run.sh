#!/usr/bin/env bash
# Builds the container image for real from Dockerfile with Debian's podman (no Docker engine, no
# registry) and runs it as an operator would:
#   - the base: `debootstrap --variant=minbase bookworm`, imported as local/debian:12 and passed as
#     the Dockerfile's BASE_IMAGE build arg (cached as a tar under ${TMPDIR:-/tmp}, keyed by date
#     and this script's BASE_VERSION, so a second run the same day skips the debootstrap);
#   - `readyprobe --version`; no shell (`--entrypoint /bin/sh` fails); the image's USER;
#   - `serve` (--network=host) against the throwaway PostgreSQL and Redis of
#     scripts/with-services.sh (re-run under it when RPTEST_PG_URL is unset): /health 200 with both
#     checks up, running as uid 65532, no password in its logs; `readyprobe check` inside that
#     container (exit 0) and the image's HEALTHCHECK; `check` against nothing (exit 1, one line);
#     SIGTERM: /health 503 at once, exit 0 after the drain.
# podman runs with a private containers.conf (runc, cgroupfs, file events logger, ulimits this
# machine allows) and storage in a throwaway directory, all removed at the end.
# Usage: run.sh SOURCE_DIR        Needs root (exit 77 = skipped otherwise).
# RP_DEBIAN_MIRROR overrides the Debian archive debootstrap uses.
set -euo pipefail
src=$(cd "${1:?usage: run.sh SOURCE_DIR}" && pwd)
BASE_VERSION=1 # bump when the base recipe below changes: the cached tar is rebuilt

if ((EUID != 0)); then
  echo "SKIP: building and running images needs root here"
  exit 77
fi
for tool in podman runc debootstrap curl; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool missing (scripts/install-deps.sh installs it)"; exit 1; }
done
if [[ -z ${RPTEST_PG_URL:-} || -z ${RPTEST_REDIS_URL:-} ]]; then
  exec "$src/scripts/with-services.sh" "$0" "$@"
fi

started=$SECONDS
cache=${TMPDIR:-/tmp}/readyprobe-image-cache
work=$(mktemp -d "${TMPDIR:-/tmp}/rpt-image-XXXXXX")
image=localhost/readyprobe:test
cleanup() {
  local rc=$?
  podman rm -af -t 0 >/dev/null 2>&1 || true
  podman system reset -f >/dev/null 2>&1 || true
  # overlay mounts left by an interrupted build would keep rm from removing the store
  awk -v w="$work" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "[$((SECONDS - started))s] $*"; }

mkdir -p "$work/storage" "$work/run" "$work/tmp" "$cache"
cat >"$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$work/events.log"
tmp_dir = "$work/tmp/libpod"
CONF
cat >"$work/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$work/storage"
runroot = "$work/run"
CONF
cat >"$work/registries.conf" <<CONF
unqualified-search-registries = []
CONF
export CONTAINERS_CONF=$work/containers.conf CONTAINERS_STORAGE_CONF=$work/storage.conf
export CONTAINERS_REGISTRIES_CONF=$work/registries.conf

# ---- the base image: Debian 12 from debootstrap, cached for the day
base_tar=$cache/debian-12-minbase-$(date -u +%Y%m%d)-v$BASE_VERSION.tar
if [[ ! -s $base_tar ]]; then
  step "debootstrap --variant=minbase bookworm (not cached yet: $base_tar)"
  find "$cache" -maxdepth 1 -name 'debian-12-minbase-*.tar' -delete
  debootstrap --variant=minbase bookworm "$work/rootfs" "${RP_DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
    >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; fail "debootstrap failed"; }
  tar -C "$work/rootfs" --numeric-owner -cf "$base_tar.partial" .
  mv "$base_tar.partial" "$base_tar"
  rm -rf "$work/rootfs"
fi
podman import --quiet "$base_tar" local/debian:12 >/dev/null
step "base image local/debian:12 imported from $base_tar"

# ---- the build, exactly as an operator would run it (the context is the source tree)
podman build --quiet --format docker --network=host --build-arg BASE_IMAGE=local/debian:12 \
  -t "$image" -f "$src/Dockerfile" "$src" >"$work/build.log" 2>&1 ||
  { tail -40 "$work/build.log"; fail "podman build failed"; }
size=$(podman image inspect --format '{{.Size}}' "$image")
step "built $image from Dockerfile: $((size / 1000000)) MB"

# ---- the image on its own
# podman times a HEALTHCHECK with systemd timers, and there is no systemd here: the one-off
# containers run without it; the serving one keeps it for `podman healthcheck run` (and its
# "unable to get systemd connection" complaint goes to podman.log).
run_opts=(--no-healthcheck)
version=$(podman run "${run_opts[@]}" --rm --network=none "$image" --version) || fail "readyprobe --version failed in the image"
[[ $version == "readyprobe "* ]] || fail "--version printed '$version'"
echo "image: readyprobe --version -> $version"
if podman run "${run_opts[@]}" --rm --network=none --entrypoint /bin/sh "$image" -c true >"$work/sh.log" 2>&1; then
  fail "the image has a shell: --entrypoint /bin/sh ran"
fi
grep -q 'stat /bin/sh: no such file' "$work/sh.log" || { cat "$work/sh.log"; fail "--entrypoint /bin/sh failed, but not for want of a shell"; }
echo "image: --entrypoint /bin/sh fails: no /bin/sh in the image"
user=$(podman image inspect --format '{{.Config.User}}' "$image")
[[ $user == 65532:65532 ]] || fail "image USER is '$user', want 65532:65532"
health=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$image")
[[ $health == *'/usr/local/bin/readyprobe","check"'* ]] || fail "image HEALTHCHECK is $health"

# ---- check against nothing: exit 1, one line
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
status=0
podman run "${run_opts[@]}" --rm --network=host -e READYPROBE_LISTEN="127.0.0.1:$closed" "$image" check >"$work/check-nothing.log" 2>&1 || status=$?
[[ $status == 1 ]] || { cat "$work/check-nothing.log"; fail "check against nothing exited $status, want 1"; }
[[ $(wc -l <"$work/check-nothing.log") == 1 ]] || { cat "$work/check-nothing.log"; fail "check against nothing: not one line"; }
echo "image: check against a closed port -> exit 1: $(cat "$work/check-nothing.log")"

# ---- serve against the throwaway PostgreSQL and Redis, the password apart as a secret would be
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pg_password=$(python3 -c 'import sys, urllib.parse as u; print(u.unquote(u.urlsplit(sys.argv[1]).password or ""))' "$RPTEST_PG_URL")
pg_url=$(python3 -c 'import sys, urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(p._replace(netloc=f"{p.username}@{p.hostname}:{p.port}").geturl())' "$RPTEST_PG_URL")
[[ -n $pg_password ]] || fail "RPTEST_PG_URL has no password to keep secret"
podman run -d --name rpt-serve --network=host \
  -e READYPROBE_LISTEN="127.0.0.1:$port" -e READYPROBE_INTERVAL=500ms -e READYPROBE_DRAIN=3s \
  -e READYPROBE_LOG_FORMAT=json -e READYPROBE_DETAILS=full \
  -e READYPROBE_CHECK_DB="$pg_url" -e READYPROBE_CHECK_DB_PASSWORD="$pg_password" \
  -e READYPROBE_CHECK_CACHE="$RPTEST_REDIS_URL" \
  "$image" serve >/dev/null 2>>"$work/podman.log"
url=http://127.0.0.1:$port
code=
for _ in $(seq 150); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$url/health" || true)
  [[ $code == 200 ]] && break
  sleep 0.2
done
[[ $code == 200 ]] || { podman logs rpt-serve; fail "serve in the image: /health answered '$code', want 200"; }
verbose=$(curl -s "$url/health?verbose")
[[ $verbose == *"[+]db ok"* && $verbose == *"[+]cache ok"* ]] || fail "/health?verbose: $verbose"
pid=$(podman inspect --format '{{.State.Pid}}' rpt-serve)
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
[[ $uid == 65532 ]] || fail "serve runs as uid $uid, want 65532"
echo "image: serve --network=host: /health 200, db and cache up, uid $uid"

podman exec rpt-serve /usr/local/bin/readyprobe check >"$work/check.log" 2>&1 ||
  { cat "$work/check.log"; fail "readyprobe check inside the serving container failed"; }
echo "image: readyprobe check inside the container -> exit 0"
podman healthcheck run rpt-serve >"$work/hc.log" 2>&1 || { cat "$work/hc.log"; fail "podman healthcheck run (the image's HEALTHCHECK) failed"; }
echo "image: HEALTHCHECK (podman healthcheck run) -> healthy"

podman kill --signal TERM rpt-serve >/dev/null
sleep 0.3
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/health" || true)
[[ $code == 503 ]] || fail "after SIGTERM /health answered '$code', want 503 during the drain"
exit_code=$(timeout 30 podman wait rpt-serve) || fail "serve did not exit after SIGTERM"
[[ $exit_code == 0 ]] || { podman logs rpt-serve; fail "serve exited $exit_code after SIGTERM, want 0"; }
podman logs rpt-serve >"$work/serve.log" 2>&1
if grep -qF -- "$pg_password" "$work/serve.log"; then
  fail "the PostgreSQL password appears in serve's logs"
fi
grep -qv '^{' "$work/serve.log" && { cat "$work/serve.log"; fail "non-JSON log lines with READYPROBE_LOG_FORMAT=json"; }
echo "image: SIGTERM -> /health 503, exit 0 after the drain; $(wc -l <"$work/serve.log") JSON log lines, no password"
podman rm -f rpt-serve >/dev/null 2>>"$work/podman.log"
step "done"
