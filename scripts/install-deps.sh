#!/usr/bin/env bash
# Install the Debian 12 packages needed to build and test readyprobe.
# Idempotent: only runs apt-get when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libcpp-httplib-dev libpqxx-dev libpq-dev libhiredis-dev libssl-dev libspdlog-dev
  catch2 nlohmann-json3-dev libcli11-dev
  postgresql redis-server haproxy
  pgbouncer openssl
  python3-alembic python3-django python3-psycopg2 ruby-activerecord ruby-pg
  prometheus
  podman buildah runc debootstrap
  curl procps util-linux ca-certificates
  python3-botocore
  clang-14 libclang-rt-14-dev llvm-14
)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all dependencies present"
  exit 0
fi

# Root runs apt-get directly; otherwise use sudo if available.
sudo_cmd=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "install-deps: missing packages (${missing[*]}) and not root and no sudo" >&2
    exit 1
  fi
fi

"${sudo_cmd[@]}" apt-get update -qq >/dev/null
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: installed ${missing[*]}"
