#!/usr/bin/env bash
# A throwaway PostgreSQL cluster (Debian's package) for tests, benchmarks and the multi-instance
# demo: created in a fresh directory, run as a non-root user (initdb refuses root), on a loopback
# port only, removed when stopped. Sourced by scripts/test.sh; also usable by hand:
#
#   source scripts/pg.sh; shimin_pg_start; echo "$SHIMIN_PG_URL"; …; shimin_pg_stop
#
# Sets SHIMIN_PG_DIR, SHIMIN_PG_PORT, SHIMIN_PG_URL (an admin URL whose user may create
# databases: every test server makes its own) and SHIMIN_TEST_DATABASE (the same URL: the test
# suites then run on PostgreSQL).

shimin_pg_bin() {
  local v
  v="$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1)"
  [ -n "$v" ] || { echo "pg.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2; return 1; }
  echo "/usr/lib/postgresql/$v/bin"
}

# Runs a command as the cluster's owner: `nobody` when we are root, ourselves otherwise.
shimin_pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}

shimin_pg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

shimin_pg_start() {
  local bin
  bin="$(shimin_pg_bin)" || return 1
  SHIMIN_PG_DIR="$(mktemp -d /tmp/shimin-pg.XXXXXX)"
  chmod 755 "$SHIMIN_PG_DIR"
  [ "$(id -u)" = 0 ] && chown nobody "$SHIMIN_PG_DIR"
  SHIMIN_PG_PORT="${SHIMIN_PG_PORT:-$(shimin_pg_free_port)}"
  shimin_pg_as_owner "$bin/initdb" -D "$SHIMIN_PG_DIR/data" -A trust -U postgres -E UTF8 --no-locale >/dev/null
  # Loopback only; enough connections for parallel tests (16 per server instance);
  # synchronous commits as in production (the server refuses synchronous_commit=off).
  shimin_pg_as_owner "$bin/pg_ctl" -D "$SHIMIN_PG_DIR/data" -l "$SHIMIN_PG_DIR/log" -w -s \
    -o "-k $SHIMIN_PG_DIR -p $SHIMIN_PG_PORT -c listen_addresses=127.0.0.1 -c max_connections=500 -c shared_buffers=128MB" \
    start
  # A role whose password is checked (the rest of the cluster trusts loopback), so tests can
  # show what a wrong database password looks like.
  sed -i '1i host all shimin_pw 127.0.0.1/32 scram-sha-256' "$SHIMIN_PG_DIR/data/pg_hba.conf"
  shimin_pg_as_owner "$bin/pg_ctl" -D "$SHIMIN_PG_DIR/data" -s reload
  "$bin/psql" -q -h 127.0.0.1 -p "$SHIMIN_PG_PORT" -U postgres -d postgres \
    -c "CREATE ROLE shimin_pw LOGIN PASSWORD 'right'" >/dev/null
  export SHIMIN_PG_DIR SHIMIN_PG_PORT
  export SHIMIN_PG_URL="postgres://postgres@127.0.0.1:$SHIMIN_PG_PORT/postgres"
  export SHIMIN_TEST_DATABASE="$SHIMIN_PG_URL"
  echo "pg.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$SHIMIN_PG_PORT ($SHIMIN_PG_DIR)" >&2
}

shimin_pg_stop() {
  [ -n "${SHIMIN_PG_DIR:-}" ] && [ -d "$SHIMIN_PG_DIR/data" ] || return 0
  local bin
  bin="$(shimin_pg_bin)" || return 1
  shimin_pg_as_owner "$bin/pg_ctl" -D "$SHIMIN_PG_DIR/data" -m fast -w -s stop || true
  rm -rf "$SHIMIN_PG_DIR"
  unset SHIMIN_PG_DIR SHIMIN_PG_URL SHIMIN_TEST_DATABASE
}
