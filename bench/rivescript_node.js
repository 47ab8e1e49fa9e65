#!/usr/bin/env node
// RiveScript (npm `rivescript`) side of the engine comparison; bench/run.sh runs it.
//
//   node bench/rivescript_node.js RULES.rive MESSAGES.tsv N [MAX_MESSAGES] [BUDGET_SECONDS]
//
// Loads the rules (utf8 mode, so Turkish letters survive), sorts them, then replies to the
// messages in file order, one `await bot.reply()` each (its public API; there is no
// match-only call), until MAX_MESSAGES (default 20000) or BUDGET_SECONDS (default 60) of
// replying, whichever comes first. Prints one JSON line like benches/compare.rs.
"use strict";
const fs = require("fs");
const path = require("path");
const RiveScript = require(path.join(__dirname, ".deps", "node_modules", "rivescript"));

function peakRssMiB() {
  const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main() {
  const [rulesPath, messagesPath, n, maxArg, budgetArg] = process.argv.slice(2);
  const max = Number(maxArg || 20000);
  const budgetNs = BigInt(Math.round(Number(budgetArg || 60) * 1e9));
  const messages = fs
    .readFileSync(messagesPath, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => l.split("\t"));

  const t0 = process.hrtime.bigint();
  const bot = new RiveScript({ utf8: true });
  bot.stream(fs.readFileSync(rulesPath, "utf8"));
  bot.sortReplies();
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;

  const lat = [];
  const right = {};
  let correct = 0;
  const start = process.hrtime.bigint();
  for (const [planted, variant, msg] of messages) {
    if (lat.length >= max || process.hrtime.bigint() - start >= budgetNs) break;
    const t = process.hrtime.bigint();
    const reply = await bot.reply("user", msg);
    lat.push(Number(process.hrtime.bigint() - t) / 1e3);
    const r = (right[variant] = right[variant] || [0, 0]);
    r[1] += 1;
    if (reply.trim() === planted) {
      r[0] += 1;
      correct += 1;
    }
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length, Math.max(1, Math.ceil(lat.length * p))) - 1];
  const byVariant = {};
  for (const v of Object.keys(right).sort()) byVariant[v] = +(right[v][0] / right[v][1]).toFixed(4);
  console.log(
    JSON.stringify({
      engine: "rivescript-js " + require(path.join(__dirname, ".deps", "node_modules", "rivescript", "package.json")).version,
      n: Number(n),
      messages: lat.length,
      msgs_per_s: +(lat.length / elapsed).toFixed(1),
      p50_us: +pct(0.5).toFixed(1),
      p99_us: +pct(0.99).toFixed(1),
      peak_rss_mib: +peakRssMiB().toFixed(1),
      accuracy: +(correct / lat.length).toFixed(4),
      accuracy_by_variant: byVariant,
      load_ms: +loadMs.toFixed(1),
      sampled: lat.length < messages.length,
    })
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
