#!/usr/bin/env bash
# A throwaway PostgreSQL server (Debian's postgresql package) for the tests: its own cluster in
# DIR, listening on a Unix socket in DIR only (no TCP port to collide with anything), trust
# authentication for the role "confab", no fsync (a test's data need not survive a power cut;
# PG_FSYNC=on for a benchmark that must pay for it, as a real server does).
#
#   tests/postgres/server.sh start DIR   initdb and start; prints the connection URI
#   tests/postgres/server.sh stop DIR    stop it (the server started from DIR, by its pid file)
#   tests/postgres/server.sh restart DIR stop it and start it again on the same data
#
# PostgreSQL refuses to run as root: as root, the server runs as the system user "postgres"
# (which the package creates) and DIR is given to it.
set -euo pipefail

action=${1:?start or stop}
dir=${2:?a directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [[ -z "$bin" || ! -x "$bin/postgres" ]]; then
  echo "server.sh: no PostgreSQL server in /usr/lib/postgresql (apt-get install postgresql)" >&2
  exit 1
fi
as=()
if [[ $(id -u) == 0 ]]; then
  as=(runuser -u postgres --)
fi

case "$action" in
  start)
    rm -rf "$dir"
    mkdir -p "$dir"
    if [[ ${#as[@]} -gt 0 ]]; then
      chown postgres "$dir"
    fi
    dir=$(cd "$dir" && pwd)
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U confab --auth=trust --no-locale -E UTF8 --no-sync \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -k $dir -c fsync=${PG_FSYNC:-off} -c full_page_writes=${PG_FSYNC:-off} -c max_connections=200" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgresql:///postgres?host=$dir&user=confab"
    ;;
  restart)
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    ;;
  stop)
    if [[ -f "$dir/data/postmaster.pid" ]]; then
      "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null || true
    fi
    ;;
  *)
    echo "server.sh: start or stop, not $action" >&2
    exit 2
    ;;
esac
