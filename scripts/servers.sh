#!/usr/bin/env bash
# Start/stop throwaway PostgreSQL and Redis servers for tests and local runs.
# Quiet on success (start commands print only the port); errors go to stderr.
#
#   servers.sh free-port
#   servers.sh pg-start    DIR [PORT] [NAME=VALUE ...]   # extra postgres settings
#   servers.sh pg-stop     DIR
#   servers.sh pg-restart  DIR                           # same port, prints it
#   servers.sh redis-start DIR [PORT] [REDIS-ARG ...]    # e.g. --requirepass x
#   servers.sh redis-tls-start DIR CERTS [PORT] [REDIS-ARG ...]  # TLS only (--port 0
#                                 --tls-port PORT), certificates from `certs CERTS`
#   servers.sh redis-stop  DIR
#   servers.sh certs       DIR        # throwaway CA + server cert for 127.0.0.1/::1/localhost
#   servers.sh pg-start-tls DIR CERTDIR [PORT]  # TLS only over TCP (hostssl), cert from `certs`
#   servers.sh pgbouncer-start DIR PG_PORT session|transaction [PORT] [NAME=VALUE ...]
#   servers.sh pgbouncer-stop  DIR
#
# PORT may be omitted (or given as 0 / "auto") to pick a free port.
# PostgreSQL: role/database "app" (password "app-secret-pw"); trust over the
# unix socket in DIR, scram-sha-256 over TCP on 127.0.0.1.
set -euo pipefail

readonly PG_APP_USER=app PG_APP_PASSWORD=app-secret-pw PG_APP_DB=app
readonly TEMPLATE_VERSION=2 # bump when the template contents change

# Keep the environment from redirecting our own psql/pg_ctl calls.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGOPTIONS PGDATA

die() {
  echo "servers.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '2,21s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

is_root() { ((EUID == 0)); }

# True if PID is a live (non-zombie) process.
pid_alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $state && $state != Z* ]]
}

# Absolute path of DIR (which need not exist yet).
abs_path() {
  case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
  esac
}

# ---------------------------------------------------------------- free port

port_in_use() {
  # Any socket (any state) bound to this local port, IPv4 or IPv6.
  local hex
  hex=$(printf ':%04X ' "$1")
  grep -qs -- "$hex" /proc/net/tcp /proc/net/tcp6
}

free_port() {
  local port i lo=10000 hi=32767 eph
  # Primary: /proc/net/tcp{,6} (no python3 needed, and fast). Pick below the
  # kernel's ephemeral range so outgoing connections do not steal the port.
  if [[ -r /proc/net/tcp ]]; then
    read -r eph _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || eph=32768
    if ((eph - 1 - lo >= 1000)); then hi=$((eph - 1)); else lo=1024 hi=65535; fi
    port=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
    for ((i = 0; i <= hi - lo; i++)); do
      if ! port_in_use "$port"; then
        echo "$port"
        return
      fi
      port=$((port >= hi ? lo : port + 1))
    done
  fi
  # Fallback: let the kernel pick one via python3.
  if command -v python3 >/dev/null 2>&1 &&
    port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null) && [[ $port =~ ^[0-9]+$ ]]; then
    echo "$port"
    return
  fi
  die "no free TCP port found"
}

check_port_arg() {
  [[ -z $1 || $1 == 0 || $1 == auto ]] && return
  if ! [[ $1 =~ ^[0-9]+$ ]] || ((10#$1 < 1 || 10#$1 > 65535)); then die "invalid port: $1"; fi
}

# Sets globals PORT (number) and AUTO_PORT (1 if we picked it).
pick_port() {
  local requested=${1:-}
  AUTO_PORT=0
  if [[ -z $requested || $requested == 0 || $requested == auto ]]; then
    PORT=$(free_port)
    AUTO_PORT=1
  else
    check_port_arg "$requested"
    PORT=$((10#$requested))
  fi
}

# --------------------------------------------------------------- PostgreSQL

pg_bindir() {
  local dir
  if [[ -n ${READYPROBE_PG_BINDIR:-} ]]; then
    dir=$READYPROBE_PG_BINDIR
  else
    dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  [[ -x $dir/pg_ctl ]] || die "PostgreSQL binaries not found (install the postgresql package or set READYPROBE_PG_BINDIR)"
  echo "$dir"
}

PGBIN=$(pg_bindir 2>/dev/null || true)

# Run a command as the postgres user when we are root (PostgreSQL refuses root).
as_pg() {
  if is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

pg_major() {
  local ver
  ver=$(basename "$(dirname "$PGBIN")")
  if [[ ! $ver =~ ^[0-9]+$ ]]; then
    ver=$("$PGBIN/postgres" -V | grep -oE '[0-9]+' | head -n 1)
  fi
  echo "$ver"
}

# Make DIR an empty-or-existing data directory usable by the server user.
pg_prepare_dir() {
  local dir=$1 parent
  mkdir -p "$dir"
  if is_root; then
    id postgres >/dev/null 2>&1 || die "user 'postgres' does not exist (install the postgresql package)"
    chown postgres:postgres "$dir"
    parent=$(dirname "$dir")
    runuser -u postgres -- test -x "$parent" ||
      die "user postgres cannot enter $parent (chmod 755 it)"
  fi
  chmod 700 "$dir"
  # The unix socket path (DIR/.s.PGSQL.NNNNN) is limited to 107 bytes.
  ((${#dir} <= 90)) || die "directory path too long for a unix socket: $dir"
}

# Initialise DIR from scratch: initdb, pg_hba.conf, base settings, app role/db.
pg_initdb() {
  local dir=$1 out
  if ! out=$(as_pg "$PGBIN/initdb" -D "$dir" -U postgres -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 --wal-segsize=1 \
    --no-sync --no-instructions 2>&1); then
    printf '%s\n' "$out" >&2
    die "initdb failed in $dir"
  fi
  cat >"$dir/pg_hba.conf" <<'HBA'
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   ::1/128        scram-sha-256
HBA
  cat >>"$dir/postgresql.conf" <<'CONF'

# readyprobe throwaway test server
fsync = off
synchronous_commit = off
full_page_writes = off
listen_addresses = '127.0.0.1'
CONF
  if is_root; then chown postgres:postgres "$dir/pg_hba.conf"; fi
  # Create the app role and database in single-user mode (no server needed).
  if ! out=$(as_pg "$PGBIN/postgres" --single -D "$dir" -c fsync=off postgres 2>&1 <<SQL
CREATE ROLE $PG_APP_USER LOGIN SUPERUSER PASSWORD '$PG_APP_PASSWORD';
CREATE DATABASE $PG_APP_DB OWNER $PG_APP_USER;
SQL
  ); then
    printf '%s\n' "$out" >&2
    die "creating role/database failed in $dir"
  fi
  if grep -q 'ERROR:' <<<"$out"; then
    printf '%s\n' "$out" >&2
    die "creating role/database failed in $dir"
  fi
  touch "$dir/.readyprobe-template-v$TEMPLATE_VERSION"
}

# Fill empty DIR from the cached template, creating the template if needed.
pg_init_from_template() {
  local dir=$1 base tmpl marker lockfd staging
  base=${TMPDIR:-/tmp}
  tmpl="$base/readyprobe-pg-template-$(pg_major)-$EUID"
  marker=".readyprobe-template-v$TEMPLATE_VERSION"
  if [[ ! -e $tmpl/$marker ]]; then
    exec {lockfd}>"$tmpl.lock"
    flock -w 300 "$lockfd" || die "timed out waiting for lock $tmpl.lock"
    if [[ ! -e $tmpl/$marker ]]; then
      # Build in DIR (postgres can surely write there), then snapshot it.
      pg_initdb "$dir"
      staging="$tmpl.tmp.$$"
      rm -rf "$staging" "$tmpl"
      cp -a "$dir" "$staging"
      mv "$staging" "$tmpl"
      exec {lockfd}>&-
      return
    fi
    exec {lockfd}>&-
  fi
  cp -a --reflink=auto "$tmpl/." "$dir/"
}

# Write per-instance settings (port, socket dir, extras) to postgresql.auto.conf.
pg_write_conf() {
  local dir=$1 port=$2 setting name value
  shift 2
  {
    echo "# written by scripts/servers.sh"
    echo "port = $port"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$dir'"
    for setting in "$@"; do
      name=${setting%%=*}
      value=${setting#*=}
      echo "$name = '${value//\'/\'\'}'"
    done
  } >"$dir/postgresql.auto.conf"
  if is_root; then chown postgres:postgres "$dir/postgresql.auto.conf"; fi
  chmod 600 "$dir/postgresql.auto.conf"
  echo "$port" >"$dir/port"
}

pg_running() {
  [[ -f $1/postmaster.pid ]] && as_pg "$PGBIN/pg_ctl" -D "$1" status >/dev/null 2>&1
}

# SIGCONT the postmaster and all its children (tests SIGSTOP them).
pg_cont_all() {
  local pid
  [[ -f $1/postmaster.pid ]] || return 0
  pid=$(head -n 1 "$1/postmaster.pid" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  kill -CONT "$pid" 2>/dev/null || true
  pkill -CONT -P "$pid" 2>/dev/null || true
}

# Start an initialised DIR on the port in its config; 0 on success.
pg_ctl_start() {
  as_pg "$PGBIN/pg_ctl" -D "$1" -l "$1/log" -w -t 60 -s start >/dev/null 2>&1
}

pg_start_failed() {
  local dir=$1 port=$2
  echo "servers.sh: PostgreSQL in $dir did not start on port $port (log: $dir/log)" >&2
  tail -n 20 "$dir/log" >&2 2>/dev/null || true
  exit 1
}

cmd_pg_start() {
  (($# >= 1)) || usage
  local dir requested="" attempt arg settings=()
  dir=$(abs_path "$1")
  shift
  if (($# > 0)) && [[ $1 != *=* && $1 != -* ]]; then
    requested=$1
    shift
  fi
  check_port_arg "$requested"
  # Extra settings: name=value, -c name=value, -cname=value or --name=value.
  for arg in "$@"; do
    [[ $arg == -c ]] && continue
    arg=${arg#-c}
    arg=${arg#--}
    [[ $arg =~ ^[A-Za-z_][A-Za-z0-9_.]*= ]] || die "invalid postgres setting (want name=value): $arg"
    settings+=("$arg")
  done
  [[ -n $PGBIN ]] || pg_bindir >/dev/null

  pg_prepare_dir "$dir"
  if [[ -f $dir/PG_VERSION ]]; then
    if pg_running "$dir"; then
      cat "$dir/port"
      return
    fi
    [[ -z $requested && -f $dir/port ]] && requested=$(<"$dir/port")
  elif [[ -n $(ls -A "$dir") ]]; then
    die "$dir is neither empty nor a PostgreSQL data directory"
  else
    pg_init_from_template "$dir"
  fi

  for attempt in 1 2 3; do
    pick_port "$requested"
    pg_write_conf "$dir" "$PORT" "${settings[@]}"
    if pg_ctl_start "$dir"; then
      echo "$PORT"
      return
    fi
    # Retry with another port only if ours was picked and got taken meanwhile.
    if ((AUTO_PORT && attempt < 3)) && grep -qs 'could not bind\|already in use' "$dir/log"; then
      continue
    fi
    pg_start_failed "$dir" "$PORT"
  done
}

# A server that accepts TCP connections over TLS only (hostssl in pg_hba.conf), with the
# certificate made by `certs CERTDIR`; the unix socket stays trust for psql().
cmd_pg_start_tls() {
  (($# >= 2)) || usage
  local dir certdir
  dir=$(abs_path "$1")
  certdir=$(abs_path "$2")
  shift 2
  [[ -f $certdir/server.crt ]] || cmd_certs "$certdir"
  [[ -n $PGBIN ]] || pg_bindir >/dev/null
  pg_prepare_dir "$dir"
  if [[ ! -f $dir/PG_VERSION ]]; then
    pg_init_from_template "$dir"
    cat >"$dir/pg_hba.conf" <<'HBA'
# TYPE    DATABASE  USER  ADDRESS        METHOD
local     all       all                  trust
hostssl   all       all   127.0.0.1/32   scram-sha-256
hostssl   all       all   ::1/128        scram-sha-256
HBA
    install -m 600 "$certdir/server.crt" "$dir/server.crt"
    install -m 600 "$certdir/server.key" "$dir/server.key"
    if is_root; then chown postgres:postgres "$dir/pg_hba.conf" "$dir/server.crt" "$dir/server.key"; fi
  fi
  cmd_pg_start "$dir" "$@" ssl=on ssl_cert_file="$dir/server.crt" ssl_key_file="$dir/server.key"
}

cmd_pg_stop() {
  (($# == 1)) || usage
  local dir pid
  dir=$(abs_path "$1")
  [[ -f $dir/postmaster.pid ]] || return 0
  [[ -n $PGBIN ]] || pg_bindir >/dev/null
  pg_cont_all "$dir"
  if as_pg "$PGBIN/pg_ctl" -D "$dir" -m immediate -w -t 20 -s stop >/dev/null 2>&1; then
    return 0
  fi
  pg_running "$dir" || return 0
  # Last resort: SIGKILL the postmaster and its children.
  pid=$(head -n 1 "$dir/postmaster.pid")
  pkill -KILL -P "$pid" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
  echo "servers.sh: PostgreSQL in $dir had to be killed" >&2
}

cmd_pg_restart() {
  (($# == 1)) || usage
  local dir port
  dir=$(abs_path "$1")
  [[ -f $dir/PG_VERSION && -f $dir/port ]] || die "$dir is not a data directory made by pg-start"
  [[ -n $PGBIN ]] || pg_bindir >/dev/null
  port=$(<"$dir/port")
  if [[ -f $dir/postmaster.pid ]]; then
    pg_cont_all "$dir"
    as_pg "$PGBIN/pg_ctl" -D "$dir" -m fast -w -t 30 -s stop >/dev/null 2>&1 ||
      cmd_pg_stop "$dir"
  fi
  pg_ctl_start "$dir" || pg_start_failed "$dir" "$port"
  echo "$port"
}

# ---------------------------------------------------------------- PgBouncer

# Debian's PgBouncer in front of a server started by pg-start: database "app", user "app"
# (SCRAM, password from its auth_file), the given pool mode, Debian's defaults otherwise
# (ignore_startup_parameters is not set) except server_login_retry = 1 (15 s by default: how
# long PgBouncer waits before trying a server it could not reach again). Extra settings
# (NAME=VALUE) go into [pgbouncer], e.g. default_pool_size=1. Runs as the postgres user.
cmd_pgbouncer_start() {
  (($# >= 3)) || usage
  local dir pg_port=$2 mode=$3 requested="" setting attempt i
  dir=$(abs_path "$1")
  shift 3
  if (($# > 0)) && [[ $1 != *=* ]]; then
    requested=$1
    shift
  fi
  check_port_arg "$requested"
  check_port_arg "$pg_port"
  [[ $mode == session || $mode == transaction ]] || die "pool mode must be session or transaction: $mode"
  command -v pgbouncer >/dev/null || die "pgbouncer not found (install pgbouncer)"
  mkdir -p "$dir"
  if is_root; then chown postgres:postgres "$dir"; fi
  for attempt in 1 2 3; do
    pick_port "$requested"
    {
      echo "[databases]"
      echo "app = host=127.0.0.1 port=$pg_port dbname=$PG_APP_DB"
      echo "[pgbouncer]"
      echo "listen_addr = 127.0.0.1"
      echo "listen_port = $PORT"
      echo "unix_socket_dir ="
      echo "auth_type = scram-sha-256"
      echo "auth_file = $dir/userlist.txt"
      echo "pool_mode = $mode"
      echo "logfile = $dir/pgbouncer.log"
      echo "pidfile = $dir/pgbouncer.pid"
      echo "server_login_retry = 1"
      for setting in "$@"; do echo "${setting%%=*} = ${setting#*=}"; done
    } >"$dir/pgbouncer.ini"
    printf '"%s" "%s"\n' "$PG_APP_USER" "$PG_APP_PASSWORD" >"$dir/userlist.txt"
    chmod 600 "$dir/userlist.txt"
    if is_root; then chown postgres:postgres "$dir/pgbouncer.ini" "$dir/userlist.txt"; fi
    echo "$PORT" >"$dir/port"
    : >"$dir/pgbouncer.log"
    if is_root; then chown postgres:postgres "$dir/pgbouncer.log"; fi
    if as_pg pgbouncer -q -d "$dir/pgbouncer.ini" >/dev/null 2>&1; then
      for ((i = 0; i < 200; i++)); do # up to 10 s
        if port_in_use "$PORT" && pgbouncer_pid "$dir" >/dev/null; then
          echo "$PORT"
          return
        fi
        sleep 0.05
      done
    fi
    cmd_pgbouncer_stop "$dir" 2>/dev/null || true
    if ((AUTO_PORT && attempt < 3)) && grep -qs 'in use' "$dir/pgbouncer.log"; then
      continue
    fi
    echo "servers.sh: PgBouncer in $dir did not start on port $PORT (log: $dir/pgbouncer.log)" >&2
    tail -n 20 "$dir/pgbouncer.log" >&2 2>/dev/null || true
    exit 1
  done
}

pgbouncer_pid() {
  local pid
  pid=$(cat "$1/pgbouncer.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid" || return 1
  [[ $(ps -o comm= -p "$pid" 2>/dev/null) == pgbouncer* ]] || return 1
  echo "$pid"
}

cmd_pgbouncer_stop() {
  (($# == 1)) || usage
  local dir pid i
  dir=$(abs_path "$1")
  pid=$(pgbouncer_pid "$dir") || return 0
  kill -CONT "$pid" 2>/dev/null || true
  kill -INT "$pid" 2>/dev/null || true # SIGINT: shut down at once
  for ((i = 0; i < 100; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# -------------------------------------------------------------------- Redis

# redis_up PORT [DIR]: DIR/tls-ca (written by redis-tls-start) makes it a TLS ping.
redis_up() {
  local out tls=()
  if [[ -n ${2:-} && -f $2/tls-ca ]]; then
    tls=(--tls --cacert "$(<"$2/tls-ca")")
  fi
  out=$(redis-cli --no-auth-warning "${tls[@]}" -h 127.0.0.1 -p "$1" ping 2>&1) || true
  # Any reply (PONG, NOAUTH ...) means it is up.
  [[ -n $out && $out != *"Could not connect"* && $out != *"Connection refused"* &&
    $out != *"SSL_connect failed"* && $out != *"Connection reset"* ]]
}

redis_pid() {
  local pid
  pid=$(cat "$1/redis.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  pid_alive "$pid" || return 1
  echo "$pid"
}

cmd_redis_start() {
  (($# >= 1)) || usage
  redis_start "$(abs_path "$1")" "" "${@:2}"
}

cmd_redis_tls_start() {
  (($# >= 2)) || usage
  local certs
  certs=$(abs_path "$2")
  cmd_certs "$certs"
  redis_start "$(abs_path "$1")" "$certs" "${@:3}"
}

# redis_start DIR CERTS [PORT] [REDIS-ARG ...]: CERTS empty for plain Redis, else TLS only.
redis_start() {
  local dir=$1 certs=$2 requested="" attempt out i pid port_args
  shift 2
  if (($# > 0)) && [[ $1 != -* ]]; then
    requested=$1
    shift
  fi
  check_port_arg "$requested"
  command -v redis-server >/dev/null || die "redis-server not found (install redis-server)"
  mkdir -p "$dir"
  if [[ -n $certs ]]; then echo "$certs/ca.crt" >"$dir/tls-ca"; else rm -f "$dir/tls-ca"; fi
  if redis_pid "$dir" >/dev/null && [[ -f $dir/port ]] && redis_up "$(<"$dir/port")" "$dir"; then
    cat "$dir/port"
    return
  fi
  for attempt in 1 2 3; do
    pick_port "$requested"
    if [[ -n $certs ]]; then
      port_args=(--port 0 --tls-port "$PORT" --tls-cert-file "$certs/server.crt"
        --tls-key-file "$certs/server.key" --tls-ca-cert-file "$certs/ca.crt" --tls-auth-clients no)
    else
      port_args=(--port "$PORT")
    fi
    echo "$PORT" >"$dir/port"
    : >"$dir/redis.log"
    rm -f "$dir/redis.pid"
    if out=$(redis-server "${port_args[@]}" --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
      --daemonize yes "$@" </dev/null 2>&1); then
      for ((i = 0; i < 200; i++)); do # up to 10 s
        # Redis writes its pid file only after binding the port, so a live
        # pid plus a reply means it is ours (not some other server's).
        if redis_pid "$dir" >/dev/null && redis_up "$PORT" "$dir"; then
          echo "$PORT"
          return
        fi
        grep -qs 'aborting\|Failed\|FATAL' "$dir/redis.log" && break
        sleep 0.05
      done
    fi
    cmd_redis_stop "$dir" 2>/dev/null || true
    if ((AUTO_PORT && attempt < 3)) && grep -qs 'already in use' "$dir/redis.log"; then
      continue
    fi
    echo "servers.sh: Redis in $dir did not start on port $PORT (log: $dir/redis.log)" >&2
    [[ -n $out ]] && printf '%s\n' "$out" >&2
    tail -n 20 "$dir/redis.log" >&2 2>/dev/null || true
    exit 1
  done
}

cmd_redis_stop() {
  (($# == 1)) || usage
  local dir=$1 pid i
  pid=$(redis_pid "$dir") || {
    rm -f "$dir/redis.pid"
    return 0
  }
  # Only signal it if it really is a redis-server (pid files can go stale).
  [[ $(ps -o comm= -p "$pid" 2>/dev/null) == redis-server* ]] || {
    rm -f "$dir/redis.pid"
    return 0
  }
  kill -CONT "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do # up to 5 s
    pid_alive "$pid" || break
    sleep 0.05
  done
  if pid_alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do
      pid_alive "$pid" || break
      sleep 0.05
    done
  fi
  rm -f "$dir/redis.pid"
}

# ---------------------------------------------------------------------- TLS

# DIR/ca.crt + ca.key: a throwaway CA; DIR/server.crt + server.key: signed by it, for
# localhost, 127.0.0.1 and ::1; DIR/other-ca.crt: an unrelated CA (for "verify failed" tests).
# Keys are readable by their owner only; chown them for the server that uses them.
cmd_certs() {
  (($# == 1)) || usage
  local dir
  dir=$(abs_path "$1")
  command -v openssl >/dev/null || die "openssl not found (install openssl)"
  mkdir -p "$dir"
  [[ -f $dir/server.crt && -f $dir/other-ca.crt ]] && return 0
  (
    cd "$dir"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=readyprobe test CA" \
      -keyout ca.key -out ca.crt
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=unrelated test CA" \
      -keyout other-ca.key -out other-ca.crt
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.crt
    chmod 644 ca.crt other-ca.crt server.crt
  ) >/dev/null 2>"$dir/openssl.log" || {
    cat "$dir/openssl.log" >&2
    die "making certificates in $dir failed"
  }
}

# --------------------------------------------------------------------- main

(($# >= 1)) || usage
cmd=$1
shift
case $cmd in
  free-port) free_port ;;
  pg-start) cmd_pg_start "$@" ;;
  pg-stop) cmd_pg_stop "$@" ;;
  pg-restart) cmd_pg_restart "$@" ;;
  redis-start) cmd_redis_start "$@" ;;
  redis-tls-start) cmd_redis_tls_start "$@" ;;
  redis-stop) cmd_redis_stop "$@" ;;
  certs) cmd_certs "$@" ;;
  pg-start-tls) cmd_pg_start_tls "$@" ;;
  pgbouncer-start) cmd_pgbouncer_start "$@" ;;
  pgbouncer-stop) cmd_pgbouncer_stop "$@" ;;
  -h | --help | help) usage ;;
  *)
    echo "servers.sh: unknown command: $cmd" >&2
    usage
    ;;
esac
