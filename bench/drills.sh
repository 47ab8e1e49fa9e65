#!/usr/bin/env bash
# The attacks of issue 15 as drills with figures (tests/drills.rs): the resolve race, a
# stranger's wrong-token posts, WebSocket messages against the per-IP limit, 4,000 sockets
# on one conversation, opening and closing 1,000, long transcripts read at once, wrong
# e-mails for one order from one address then its owner, webhook order after an outage.
# Bounded (a few seconds each), on 127.0.0.1 only, a temporary SQLite file per drill.
#
#   bash bench/drills.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --test drills -- --ignored --nocapture --test-threads 1 2>&1 | grep -o 'drill: .*'
