#!/usr/bin/env bash
# Runs a command with DATABASE_URL pointing at a throwaway PostgreSQL cluster: initdb into a
# temporary directory, started on a free loopback port, stopped and removed when the command ends
# (Ctrl-C included). `make run-postgres` uses it to try the app on PostgreSQL with no setup.
#   usage: .ci/throwaway-postgres.sh COMMAND [ARGS...]
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed: run .ci/install-tools.sh" >&2; exit 1; }

dir=$(mktemp -d -t parley-pg-XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# initdb and pg_ctl refuse to run as root: run them as the `postgres` system user then.
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -ne 0 ] || chown postgres "$dir"

stop() {
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT

as_owner "$bin/initdb" -D "$dir/data" -A trust -U parley --no-sync >/dev/null
as_owner "$bin/pg_ctl" -w -D "$dir/data" -l "$dir/log" \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >/dev/null
as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U parley parley
echo "throwaway PostgreSQL on 127.0.0.1:$port (removed on exit)"

DATABASE_URL="postgres://parley@127.0.0.1:$port/parley" "$@"
