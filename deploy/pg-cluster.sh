#!/usr/bin/env bash
# pg-cluster.sh — a private PostgreSQL 15 cluster on a Unix socket, for the quickstart and
# the tests. Usage: pg-cluster.sh start|stop|status DIR, pg-cluster.sh restart DIR [fast|immediate]
#   start: initdb DIR/data (trust auth, no TCP), start it with its socket in DIR, and
#          print the conninfo to use. Idempotent: an already running cluster is reused.
# PostgreSQL refuses to run as root, so as root the cluster runs as user `postgres`.
set -euo pipefail
cmd=${1:?usage: pg-cluster.sh start|stop|status DIR}
dir=$(mkdir -p "${2:?usage: pg-cluster.sh start|stop|status DIR}" && cd "$2" && pwd)
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "pg-cluster: PostgreSQL server binaries not found; run deploy/install-deps.sh" >&2; exit 2; }
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
user=$( [ "$(id -u)" = 0 ] && echo postgres || id -un )
conninfo="host=$dir dbname=postgres user=$user"
case "$cmd" in
  start)
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$bin/initdb" -D "$dir/data" -A trust -U "$user" -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 2; }
    fi
    # Tests set SITEMAIL_PG_FAST=1 (no fsync: a crashed test cluster is thrown away);
    # the quickstart and the benchmarks keep PostgreSQL's durable defaults.
    fast=""
    [ "${SITEMAIL_PG_FAST:-0}" = 1 ] && fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if ! as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c max_connections=200 $fast ${SITEMAIL_PG_OPTIONS:-}" start >/dev/null \
        || { tail -20 "$dir/server.log" >&2; exit 2; }
    fi
    echo "$conninfo" > "$dir/conninfo"
    echo "$conninfo"
    ;;
  stop)
    if [ -f "$dir/data/PG_VERSION" ]; then as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; fi
    ;;
  restart)
    # restart DIR [fast|immediate]: immediate is a crash (no checkpoint), then WAL recovery
    mode=${3:-fast}
    case "$mode" in fast|immediate) ;; *) echo "pg-cluster: restart mode must be fast or immediate" >&2; exit 2 ;; esac
    as_pg "$bin/pg_ctl" -D "$dir/data" -m "$mode" -w -t 120 -l "$dir/server.log" restart >/dev/null
    ;;
  status)
    as_pg "$bin/pg_ctl" -D "$dir/data" status
    ;;
  *) echo "usage: pg-cluster.sh start|stop|restart|status DIR" >&2; exit 2 ;;
esac
