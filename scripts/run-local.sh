#!/usr/bin/env bash
# Build readyprobe and run it locally against throwaway PostgreSQL and Redis.
# Ctrl-C stops readyprobe, PostgreSQL and Redis and removes their data.
# READYPROBE_LISTEN (default 127.0.0.1:8081) sets the listen address.
set -euo pipefail
cd "$(dirname "$0")/.."

# Second stage, run by with-services.sh with RPTEST_* set.
if [[ ${1:-} == --inside-services ]]; then
  export READYPROBE_LISTEN=${READYPROBE_LISTEN:-127.0.0.1:8081}
  export READYPROBE_CHECK_DB=$RPTEST_PG_URL
  export READYPROBE_CHECK_CACHE=$RPTEST_REDIS_URL
  bin=build/sidecar/readyprobe
  [[ -x $bin ]] || {
    echo "run-local: $bin not found (did the build produce it?)" >&2
    exit 1
  }
  host=${READYPROBE_LISTEN%:*}
  port=${READYPROBE_LISTEN##*:}
  [[ $host == 0.0.0.0 || $host == "" || $host == "[::]" ]] && host=127.0.0.1
  base="http://$host:$port"
  cat <<MSG
readyprobe on $READYPROBE_LISTEN
  PostgreSQL: ${RPTEST_PG_URL/:app-secret-pw@/:***@}
  Redis:      $RPTEST_REDIS_URL
Try:
  curl -i $base/health
  curl -i '$base/readyz?verbose'
  curl -i $base/livez
  curl -i $base/startupz
  curl -s $base/metrics
  curl -s '$base/health?format=json'
Ctrl-C stops readyprobe, PostgreSQL and Redis
MSG
  exec "$bin" serve
fi

scripts/install-deps.sh
scripts/build.sh build
exec scripts/with-services.sh scripts/run-local.sh --inside-services
