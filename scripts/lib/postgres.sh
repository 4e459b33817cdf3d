# Finds a PostgreSQL server for the store tests and exports TEST_DATABASE_URL:
#   1. TEST_DATABASE_URL when set;
#   2. postgres@127.0.0.1:5432 when something listens there;
#   3. a throwaway cluster started with the local initdb/pg_ctl.
# With none of these it stops with a message saying how to get one: the
# PostgreSQL tests never skip. Set RC_TEST_PG=throwaway to force case 3.

pg_port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

find_pg_bin() {
  local name="$1" found
  found="$(command -v "$name" 2>/dev/null || true)"
  if [[ -z "$found" ]]; then
    found="$(ls -1 /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -1 || true)"
  fi
  echo "$found"
}

start_throwaway_postgres() {
  local initdb pg_ctl
  initdb="$(find_pg_bin initdb)"
  pg_ctl="$(find_pg_bin pg_ctl)"
  if [[ -z "$initdb" || -z "$pg_ctl" ]]; then
    echo "error: the store tests need PostgreSQL and none was found." >&2
    echo "       Set TEST_DATABASE_URL=postgres://USER@HOST:PORT/DB, or run a server on 127.0.0.1:5432" >&2
    echo "       (user postgres, trust auth), or install the server binaries (apt-get install postgresql)" >&2
    echo "       so this script can start a throwaway cluster." >&2
    exit 1
  fi
  PG_TMP="$(mktemp -d /tmp/rollout-console-pg.XXXXXX)"
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  local run=()
  if [[ $EUID -eq 0 ]]; then
    # initdb refuses to run as root: use the postgres account, or nobody.
    local user=postgres
    id -u postgres >/dev/null 2>&1 || user=nobody
    chown "$user" "$PG_TMP"
    run=(runuser -u "$user" --)
  fi
  echo "test: starting a throwaway PostgreSQL ($initdb) on 127.0.0.1:$port"
  "${run[@]}" "$initdb" -D "$PG_TMP/data" -U postgres --auth=trust -E UTF8 >"$PG_TMP/initdb.log" 2>&1 ||
    { cat "$PG_TMP/initdb.log" >&2; exit 1; }
  "${run[@]}" "$pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w \
    -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null ||
    { cat "$PG_TMP/server.log" >&2; exit 1; }
  PG_STOP=("${run[@]}" "$pg_ctl" -D "$PG_TMP/data" -m immediate stop)
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

stop_throwaway_postgres() {
  if [[ -n "${PG_TMP:-}" ]]; then
    "${PG_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
  fi
}

ensure_postgres() {
  if [[ "${RC_TEST_PG:-}" == "throwaway" ]]; then
    start_throwaway_postgres
  elif [[ -n "${TEST_DATABASE_URL:-}" ]]; then
    echo "test: PostgreSQL from TEST_DATABASE_URL"
  elif pg_port_open 127.0.0.1 5432; then
    export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
    echo "test: PostgreSQL on 127.0.0.1:5432"
  else
    start_throwaway_postgres
  fi
}
