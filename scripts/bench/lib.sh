# Shared by the benchmark scripts: build the release console once, start it on
# a free port with a given store, and drive it with wrk.
# shellcheck shell=bash

bench_build() {
  cargo leptos build --release >/dev/null 2>&1 || cargo leptos build --release
  TARGET_DIR="$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  CONSOLE_BIN="$TARGET_DIR/release/rollout-console"
  SITE_ROOT="$TARGET_DIR/site"
}

# bench_start DATABASE_URL — sets CONSOLE_URL and CONSOLE_PID.
bench_start() {
  local log="$BENCH_DIR/console.log"
  DATABASE_URL="$1" CONSOLE_LISTEN=127.0.0.1:0 CONSOLE_SITE_ROOT="$SITE_ROOT" \
    CONSOLE_LOG_LEVEL=warn,server::cli=info "$CONSOLE_BIN" serve >"$log" 2>&1 &
  CONSOLE_PID=$!
  for _ in $(seq 1 200); do
    CONSOLE_URL="$(grep -o 'listening on http://[0-9.:]*' "$log" | head -1 | sed 's/listening on //')" || true
    [[ -n "$CONSOLE_URL" ]] && return 0
    kill -0 "$CONSOLE_PID" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.05
  done
  echo "bench: console did not start:" >&2; cat "$log" >&2; return 1
}

bench_stop() {
  [[ -n "${CONSOLE_PID:-}" ]] && kill "$CONSOLE_PID" 2>/dev/null && wait "$CONSOLE_PID" 2>/dev/null || true
  CONSOLE_PID=""
}

# bench_wrk PATH — prints the RESULT line for a 10 s run (after a 2 s warm-up).
bench_wrk() {
  local url="$CONSOLE_URL$1"
  wrk -t2 -c"${BENCH_CONNECTIONS:-8}" -d2s "$url" >/dev/null
  wrk -t2 -c"${BENCH_CONNECTIONS:-8}" -d"${BENCH_SECONDS:-10}s" \
    -s "$ROOT/scripts/bench/percentiles.lua" "$url" | grep '^RESULT'
}

# field NAME "RESULT …" — the value of NAME=…
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2"; }
