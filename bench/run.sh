#!/usr/bin/env bash
# destek against RiveScript (npm and PyPI), side by side, in one run; then end-to-end HTTP.
#
#   bash bench/run.sh            # full run, ~10-15 min on 2 vCPUs (cold build included)
#   QUICK=1 bash bench/run.sh    # smoke run, ~1-2 min once built
#
# Part 1: bench/gen.py writes the same rule set (N = 50, 500, 5,000 intents, 8 triggers
# each, Turkish and English) for both engines and the same 20,000 messages (each plants one
# trigger; the planted intent is recorded). Then, one after the other, each in its own
# process: destek (benches/compare.rs, public API: pack::compile + engine::classify on
# every message), RiveScript for node and RiveScript for Python (reply() on the messages in
# file order, bounded: at most RS_MAX messages or RS_BUDGET seconds of replying per run,
# whichever comes first; the table says how many were measured). One table:
# messages/s, p50/p99 latency, peak RSS, accuracy on the planted triggers.
#
# Part 2: benches/http_load.rs (the real server, durable SQLite, in-process load generator)
# at 100 and 1,000 concurrent conversations.
#
# Everything is bounded: fixed message counts, time budgets, and `timeout` on every run.
# Outputs go to target/bench-compare/ (results.jsonl, table.md, http.txt).
# Not part of `cargo test`.
set -uo pipefail
cd "$(dirname "$0")/.."

QUICK=${QUICK:-0}
OUT=${BENCH_OUT:-target/bench-compare}
if [ "$QUICK" = 1 ]; then
    SIZES=${SIZES:-50,500}; MESSAGES=${MESSAGES:-2000}
    RS_MAX=${RS_MAX:-200}; RS_BUDGET=${RS_BUDGET:-5}
    DESTEK_SECONDS=0.2; HTTP_SECONDS=2; HTTP_RUNS="100:100"
else
    SIZES=${SIZES:-50,500,5000}; MESSAGES=${MESSAGES:-20000}
    RS_MAX=${RS_MAX:-2000}; RS_BUDGET=${RS_BUDGET:-60}
    DESTEK_SECONDS=2; HTTP_SECONDS=10; HTTP_RUNS="100:100 1000:64 1000:1000"
fi
DEPS=bench/.deps
mkdir -p "$OUT"
log() { printf '== %s\n' "$*" >&2; }

# --- dependencies (RiveScript from npm and PyPI, only if missing) -------------------------
if [ ! -f "$DEPS/node_modules/rivescript/package.json" ]; then
    log "installing rivescript from npm into $DEPS"
    timeout 300 npm install --prefix "$DEPS" --no-audit --no-fund rivescript >&2 || log "npm install failed"
fi
if [ ! -d "$DEPS/py/rivescript" ]; then
    log "installing rivescript from PyPI into $DEPS/py"
    timeout 300 python3 -m pip install --quiet --target "$DEPS/py" rivescript >&2 || log "pip install failed"
fi

# --- the corpus ---------------------------------------------------------------------------
log "generating rule sets N=$SIZES and $MESSAGES messages each into $OUT"
python3 bench/gen.py --out "$OUT" --sizes "$SIZES" --messages "$MESSAGES" || exit 1

# --- destek's binary (retried once: others may be mid-edit in src/) ---------------------
build() {
    # prints the path of the built bench executable named $1
    cargo bench --bench "$1" --no-run --message-format=json 2>/dev/null \
        | python3 -c 'import json,sys
exe=[j["executable"] for j in map(json.loads, sys.stdin)
     if j.get("reason")=="compiler-artifact" and j.get("executable") and j["target"]["name"]==sys.argv[1]]
print(exe[-1] if exe else "")' "$1"
}
log "building benches/compare.rs (cargo bench profile)"
COMPARE=$(build compare)
if [ -z "$COMPARE" ]; then
    log "build failed; retrying in 60 s"; sleep 60; COMPARE=$(build compare)
fi
[ -n "$COMPARE" ] || { log "cannot build the compare bench"; exit 1; }

RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
IFS=, read -r -a NS <<< "$SIZES"

# --- part 1: the engines, one after the other ---------------------------------------------
for n in "${NS[@]}"; do
    log "destek, N=$n"
    DESTEK_COMPARE_N=$n DESTEK_COMPARE_SECONDS=$DESTEK_SECONDS \
        timeout 300 "$COMPARE" "$OUT/intents_$n.yaml" "$OUT/messages_$n.tsv" >> "$RESULTS" \
        || echo "{\"engine\":\"destek\",\"n\":$n,\"failed\":true}" >> "$RESULTS"
done
RS_TIMEOUT=$((RS_BUDGET + 180))
for n in "${NS[@]}"; do
    log "rivescript (node), N=$n: up to $RS_MAX messages or ${RS_BUDGET} s"
    timeout "$RS_TIMEOUT" node bench/rivescript_node.js "$OUT/rules_$n.rive" "$OUT/messages_$n.tsv" \
        "$n" "$RS_MAX" "$RS_BUDGET" >> "$RESULTS" \
        || echo "{\"engine\":\"rivescript-js\",\"n\":$n,\"failed\":true}" >> "$RESULTS"
done
for n in "${NS[@]}"; do
    log "rivescript (python), N=$n: up to $RS_MAX messages or ${RS_BUDGET} s"
    timeout "$RS_TIMEOUT" python3 bench/rivescript_py.py "$OUT/rules_$n.rive" "$OUT/messages_$n.tsv" \
        "$n" "$RS_MAX" "$RS_BUDGET" >> "$RESULTS" \
        || echo "{\"engine\":\"rivescript-py\",\"n\":$n,\"failed\":true}" >> "$RESULTS"
done

python3 - "$RESULTS" "$MESSAGES" > "$OUT/table.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
total = int(sys.argv[2])
destek = {r["n"]: r for r in rows if r["engine"] == "destek" and not r.get("failed")}
def fmt_us(us):
    return f"{us / 1000:,.1f} ms" if us >= 1000 else f"{us:,.2f} µs"
print("| engine | N intents | messages measured | messages/s | p50 | p99 | peak RSS | accuracy (all) | accuracy (exact spelling) | destek ÷ engine |")
print("|---|---|---|---|---|---|---|---|---|---|")
verdicts = []
for r in sorted(rows, key=lambda r: (r["n"], r["engine"] != "destek", r["engine"])):
    if r.get("failed"):
        print(f"| {r['engine']} | {r['n']:,} | failed or timed out | | | | | | | |")
        continue
    d = destek.get(r["n"])
    ratio = "" if r["engine"] == "destek" or not d else f"{d['msgs_per_s'] / r['msgs_per_s']:,.0f}×"
    measured = f"{r['messages']:,}" + ("" if r["messages"] >= total else f" of {total:,} (budget)")
    plain = r.get("accuracy_by_variant", {}).get("plain")
    print(f"| {r['engine']} | {r['n']:,} | {measured} | {r['msgs_per_s']:,.{0 if r['msgs_per_s'] >= 100 else 1}f} | {fmt_us(r['p50_us'])} "
          f"| {fmt_us(r['p99_us'])} | {r['peak_rss_mib']:,.0f} MiB | {100 * r['accuracy']:.1f}% "
          f"| {'' if plain is None else f'{100 * plain:.1f}%'} | {ratio} |")
    if r["engine"] != "destek" and d and r["n"] in (500, 5000):
        x = d["msgs_per_s"] / r["msgs_per_s"]
        ok = x >= 10_000 and d["accuracy"] >= r["accuracy"]
        verdicts.append(f"- N={r['n']:,} vs {r['engine']}: {x:,.0f}× throughput, accuracy "
                        f"{100 * d['accuracy']:.1f}% vs {100 * r['accuracy']:.1f}%: "
                        f"target (≥ 10,000× at equal or better accuracy) **{'met' if ok else 'NOT met'}**")
print()
print("\n".join(verdicts) if verdicts else "- (no N=500 / N=5,000 rows: targets not evaluated)")
PY
echo
echo "## Engines: destek vs RiveScript"
cat "$OUT/table.md"

# --- part 2: end-to-end HTTP (destek serve's router, SQLite) ------------------------------
echo
echo "## Site chat over HTTP (SQLite, ${HTTP_SECONDS} s each)"
: > "$OUT/http.txt"
for run in $HTTP_RUNS; do
    convs=${run%%:*}; inflight=${run##*:}
    log "http_load: $convs conversations, $inflight in flight"
    DESTEK_LOAD_CONVERSATIONS=$convs DESTEK_LOAD_CONCURRENCY=$inflight DESTEK_LOAD_SECONDS=$HTTP_SECONDS \
        timeout 600 cargo bench --bench http_load 2>/dev/null | grep '^conversations' | tee -a "$OUT/http.txt" \
        || echo "conversations $convs, $inflight in flight: failed or timed out" | tee -a "$OUT/http.txt"
done
