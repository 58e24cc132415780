#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the portability tests and print the
# environment to use it. Usage: eval "$(bash .ci/start_postgres.sh)"
set -euo pipefail
PORT="${PROCURE_PG_PORT:-5433}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$BIN/pg_ctl" ] || { echo "PostgreSQL server binaries not found (apt-get install -y postgresql)" >&2; exit 1; }
DATA="$(mktemp -d /tmp/procure-pg.XXXXXX)"
chown postgres "$DATA"
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# The server settings the warehouse wants (docs/operations.md, "Marts on PostgreSQL"), in this one place:
# byte-order collation (LC_COLLATE C: text sorts and joins by memcmp, not the libc locale's strcoll, and
# orders strings as DuckDB does); character classes (upper, lower) stay those of the environment's UTF-8 locale
INITDB_LOCALE=(--lc-collate=C)
run_pg "$BIN/initdb" -D "$DATA/data" -U postgres --auth=trust -E UTF8 "${INITDB_LOCALE[@]}" >/dev/null
run_pg "$BIN/pg_ctl" -D "$DATA/data" -l "$DATA/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off" start >/dev/null
run_pg "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres procurement
echo "export PROCURE_PG_HOST=127.0.0.1 PROCURE_PG_PORT=$PORT PROCURE_PG_USER=postgres PROCURE_PG_DATABASE=procurement PROCURE_PG_DATADIR=$DATA/data PROCURE_PG_BIN=$BIN"
