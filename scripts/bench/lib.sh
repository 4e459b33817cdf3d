# Shared by the benchmark scripts: build the release console once, start it on
# a free port over a given store, sign a user in, and drive it with wrk.
# shellcheck shell=bash

# BENCH_CONSOLE_BIN and BENCH_SITE_ROOT: measure that build instead (e.g. an
# older commit's, for a before/after); otherwise scripts/build makes this one.
bench_build() {
  if [[ -n "${BENCH_CONSOLE_BIN:-}" ]]; then
    CONSOLE_BIN="$BENCH_CONSOLE_BIN"
    SITE_ROOT="${BENCH_SITE_ROOT:?BENCH_SITE_ROOT must name the site of BENCH_CONSOLE_BIN}"
    return 0
  fi
  scripts/build >/dev/null 2>&1 || scripts/build
  TARGET_DIR="$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  CONSOLE_BIN="$TARGET_DIR/release/rollout-console"
  SITE_ROOT="$TARGET_DIR/site"
}

# bench_start DATABASE_URL — sets CONSOLE_URL and CONSOLE_PID.
bench_start() {
  local log="$BENCH_DIR/console.log"
  BENCH_DATABASE_URL="$1"
  DATABASE_URL="$1" CONSOLE_LISTEN=127.0.0.1:0 CONSOLE_SITE_ROOT="$SITE_ROOT" \
    CONSOLE_LOG_LEVEL=warn,server::cli=info "$CONSOLE_BIN" serve >"$log" 2>&1 &
  CONSOLE_PID=$!
  CONSOLE_URL=""
  for _ in $(seq 1 600); do
    CONSOLE_URL="$(grep -o 'listening on http://[0-9.:]*' "$log" | head -1 | sed 's/listening on //')" || true
    [[ -n "$CONSOLE_URL" ]] && return 0
    kill -0 "$CONSOLE_PID" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.05
  done
  echo "bench: console did not start:" >&2; cat "$log" >&2; return 1
}

bench_stop() {
  if [[ -n "${CONSOLE_PID:-}" ]]; then
    kill "$CONSOLE_PID" 2>/dev/null || true
    wait "$CONSOLE_PID" 2>/dev/null || true
  fi
  CONSOLE_PID=""
}

# bench_sign_in USERNAME ROLE — adds the user (CLI) and prints a Cookie header value.
bench_sign_in() {
  local password="$1-bench-password"
  printf '%s\n' "$password" | DATABASE_URL="$BENCH_DATABASE_URL" CONSOLE_LOG_LEVEL=warn \
    "$CONSOLE_BIN" user add "$1" --role "$2" --password-stdin >/dev/null
  curl -s -o /dev/null -D - -H "Origin: $CONSOLE_URL" \
    --data-urlencode "username=$1" --data-urlencode "password=$password" \
    "$CONSOLE_URL/auth/login" | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | head -1
}

# bench_wrk PATH [COOKIE] — prints the RESULT line of a run (after a 2 s warm-up).
bench_wrk() {
  local url="$CONSOLE_URL$1" header=()
  [[ -n "${2:-}" ]] && header=(-H "Cookie: $2")
  local status
  status=$(curl -s -o /dev/null -w '%{http_code}' "${header[@]}" "$url")
  if [[ "$status" != 200 ]]; then
    echo "bench: GET $1 answered $status, not 200 (wrk would time redirects)" >&2
    return 1
  fi
  wrk -t2 -c"${BENCH_CONNECTIONS:-8}" -d2s "${header[@]}" "$url" >/dev/null
  wrk -t2 -c"${BENCH_CONNECTIONS:-8}" -d"${BENCH_SECONDS:-10}s" "${header[@]}" \
    -s "$ROOT/scripts/bench/percentiles.lua" "$url" | grep '^RESULT'
}

# A fresh PostgreSQL database for a benchmark; prints its URL.
bench_pg_database() {
  local admin="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  local name="rc_bench_$$_$RANDOM"
  psql -q "$admin" -c "CREATE DATABASE $name" >/dev/null
  BENCH_PG_DROP+=("$name")
  echo "${admin%/*}/$name"
}

bench_pg_cleanup() {
  local admin="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  for name in "${BENCH_PG_DROP[@]:-}"; do
    [[ -n "$name" ]] && psql -q "$admin" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null 2>&1
  done
  return 0
}
BENCH_PG_DROP=()
