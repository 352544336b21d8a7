#!/usr/bin/env bash
# Run CMD with a throwaway PostgreSQL and Redis, then stop them and clean up.
#   scripts/with-services.sh CMD [ARGS...]
# Exports RPTEST_{PG,REDIS}_{URL,PORT,DIR} (and RPTEST_SERVERS_SH)
# for CMD; exits with CMD's exit code.
set -euo pipefail

(($# >= 1)) || {
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
}

servers=$(cd "$(dirname "$0")" && pwd)/servers.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/readyprobe-svc.XXXXXX")
chmod 755 "$tmp" # the postgres user must be able to enter it

# shellcheck disable=SC2317 # invoked via trap
cleanup() {
  local rc=$?
  trap '' INT TERM # do not let a second Ctrl-C interrupt the cleanup
  "$servers" redis-stop "$tmp/redis" || true
  "$servers" pg-stop "$tmp/pg" || true
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pg_port=$("$servers" pg-start "$tmp/pg")
redis_port=$("$servers" redis-start "$tmp/redis")

export RPTEST_SERVERS_SH=$servers
export RPTEST_PG_URL="postgres://app:app-secret-pw@127.0.0.1:$pg_port/app"
export RPTEST_PG_PORT=$pg_port
export RPTEST_PG_DIR=$tmp/pg
export RPTEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
export RPTEST_REDIS_PORT=$redis_port
export RPTEST_REDIS_DIR=$tmp/redis

# Not exec: the EXIT trap must run after CMD finishes.
rc=0
"$@" || rc=$?
exit "$rc"
