#!/usr/bin/env bash
# Durable turns per second measured from outside the server, with wrk as the load generator.
#
#   bash bench/wrk.sh            # 64 and 256 connections, 10 s each
#   CONNECTIONS="64 128 256" SECONDS_EACH=20 bash bench/wrk.sh
#   SERVER=path/to/http_load-binary bash bench/wrk.sh   # another build, e.g. for a before/after
#   THINK_MS=20 CONNECTIONS=256 bash bench/wrk.sh     # each connection pauses 20 ms between turns
#
# For each connection count: starts the server of `benches/http_load.rs` (the real router,
# durable SQLite in a temporary file: WAL, synchronous = FULL, every acknowledged turn on
# disk) with 1,000 open conversations, drives it with `wrk -t2 -cN --latency` and
# bench/wrk_turns.lua, prints wrk's report and one JSON line, then stops the server. A
# request counts only if it was answered 2xx. Outputs land in target/bench-wrk/.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (Debian: apt-get install wrk)" >&2; exit 1; }
CONNECTIONS=${CONNECTIONS:-"64 256"}
SECONDS_EACH=${SECONDS_EACH:-10}
THREADS=${THREADS:-2}
out=target/bench-wrk
mkdir -p "$out"
bin=${SERVER:-$(cargo bench --bench http_load --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "http_load" and m.get("executable"):
        print(m["executable"])')}
for c in $CONNECTIONS; do
  conv="$out/conversations-$c.txt"
  rm -f "$conv"
  DESTEK_LOAD_SERVE="$conv" DESTEK_LOAD_CONVERSATIONS=${CONVERSATIONS:-1000} "$bin" >"$out/server-$c.log" 2>&1 &
  server=$!
  # Stop the server however this script ends (wrk failing included).
  trap 'kill -TERM "$server" 2>/dev/null || true' EXIT
  url=""
  while [ -z "$url" ]; do
    kill -0 "$server" 2>/dev/null || { cat "$out/server-$c.log" >&2; exit 1; }
    sleep 0.2
    url=$(sed -n 's/^ready //p' "$out/server-$c.log")
  done
  echo "== $c connections, ${SECONDS_EACH} s, think ${THINK_MS:-0} ms, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  DESTEK_WRK_CONVERSATIONS="$conv" DESTEK_WRK_THREADS=$THREADS DESTEK_WRK_THINK_MS=${THINK_MS:-} \
    wrk -t"$THREADS" -c"$c" -d"${SECONDS_EACH}s" --latency -s bench/wrk_turns.lua "$url" \
    | tee "$out/wrk-$c.txt"
  kill -TERM "$server"
  wait "$server" || true
done
