#!/usr/bin/env python3
"""RiveScript (PyPI `rivescript`) side of the engine comparison; bench/run.sh runs it.

    python3 bench/rivescript_py.py RULES.rive MESSAGES.tsv N [MAX_MESSAGES] [BUDGET_SECONDS]

Loads the rules (utf8 mode, so Turkish letters survive), sorts them, then replies to the
messages in file order, one `reply()` each (its public API; there is no match-only call),
until MAX_MESSAGES (default 20000) or BUDGET_SECONDS (default 60) of replying, whichever
comes first. Prints one JSON line like benches/compare.rs. Expects the package in
bench/.deps/py (pip install --target).
"""

import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".deps", "py"))

from rivescript import RiveScript  # noqa: E402
import rivescript  # noqa: E402


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    rules, messages_path, n = sys.argv[1:4]
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else 20_000
    budget = float(sys.argv[5]) if len(sys.argv) > 5 else 60.0
    with open(messages_path, encoding="utf-8") as f:
        messages = [line.rstrip("\n").split("\t", 2) for line in f if line.strip()]

    t0 = time.perf_counter()
    bot = RiveScript(utf8=True)
    with open(rules, encoding="utf-8") as f:
        bot.stream(f.read())
    bot.sort_replies()
    load_ms = (time.perf_counter() - t0) * 1e3

    lat, right, correct = [], {}, 0
    start = time.perf_counter()
    for planted, variant, msg in messages:
        if len(lat) >= limit or time.perf_counter() - start >= budget:
            break
        t = time.perf_counter()
        reply = bot.reply("user", msg)
        lat.append((time.perf_counter() - t) * 1e6)
        r = right.setdefault(variant, [0, 0])
        r[1] += 1
        if reply.strip() == planted:
            r[0] += 1
            correct += 1
    elapsed = time.perf_counter() - start
    lat.sort()

    def pct(p):
        return lat[min(len(lat), max(1, math.ceil(len(lat) * p))) - 1]

    print(json.dumps({
        "engine": "rivescript-py " + getattr(rivescript, "__version__", "?"),
        "n": int(n),
        "messages": len(lat),
        "msgs_per_s": round(len(lat) / elapsed, 1),
        "p50_us": round(pct(0.5), 1),
        "p99_us": round(pct(0.99), 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "accuracy": round(correct / len(lat), 4),
        "accuracy_by_variant": {v: round(a / b, 4) for v, (a, b) in sorted(right.items())},
        "load_ms": round(load_ms, 1),
        "sampled": len(lat) < len(messages),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
