//! destek's side of the engine comparison (`bash bench/run.sh` runs it; see BENCHMARKS.md).
//!
//! ```text
//! DESTEK_COMPARE_PACK=intents_500.yaml DESTEK_COMPARE_MESSAGES=messages_500.tsv \
//!     cargo bench --bench compare
//! ```
//!
//! (or the two paths as arguments). Compiles the embedded default pack plus the generated
//! intents file with the public API (`pack::compile`), classifies every message with
//! `engine::classify` (normalise + match, what every turn does before the dialogue), and
//! prints one JSON line: messages/s, p50/p99 latency per message, peak RSS (VmHWM) and
//! accuracy on the planted triggers, overall and per variant.
//!
//! The messages file has one `planted_intent<TAB>variant<TAB>message` per line
//! (`bench/gen.py`). Throughput comes from whole passes over all messages, repeated for at
//! least `DESTEK_COMPARE_SECONDS` (default 2) and at most 200 passes; latency from one more
//! pass timing each message on its own.
//!
//! `DESTEK_COMPARE_PROFILE_TURNS=k` instead runs `k` full turns (`engine::turn`, default
//! pack, fresh conversation, in-memory orders) over a fixed mix of messages inside
//! `profile_turns`, for a profiler: `valgrind --tool=callgrind --collect-atstart=no
//! --toggle-collect='*profile_turns*' target/release/deps/compare-…` (BENCHMARKS.md).

#[path = "../tests/support/memory.rs"]
mod memory;

use destek::engine;
use destek::matcher::Decision;
use destek::pack::{self, Source};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn main() {
    if let Some(k) = std::env::var("DESTEK_COMPARE_PROFILE_TURNS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    {
        let bot = pack::compile(&pack::embedded(), &pack::Options::default())
            .bot
            .expect("the default pack compiles");
        let t = Instant::now();
        let replies = profile_turns(&bot, k);
        let s = t.elapsed().as_secs_f64();
        println!(
            "{{\"turns\":{k},\"replies\":{replies},\"turns_per_s\":{:.0},\"mean_us\":{:.2}}}",
            k as f64 / s,
            s * 1e6 / k as f64
        );
        return;
    }
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let pack_path = std::env::var("DESTEK_COMPARE_PACK")
        .ok()
        .or_else(|| args.next())
        .expect("DESTEK_COMPARE_PACK or a first argument: the generated intents YAML");
    let messages_path = std::env::var("DESTEK_COMPARE_MESSAGES")
        .ok()
        .or_else(|| args.next())
        .expect("DESTEK_COMPARE_MESSAGES or a second argument: the messages TSV");
    let min_seconds: f64 = std::env::var("DESTEK_COMPARE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let n: usize = std::env::var("DESTEK_COMPARE_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);

    let text = std::fs::read_to_string(&pack_path).expect("read the intents file");
    let raw = std::fs::read_to_string(&messages_path).expect("read the messages file");
    let messages: Vec<(&str, &str, &str)> = raw
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut it = l.splitn(3, '\t');
            let planted = it.next().unwrap_or_default();
            let variant = it.next().unwrap_or_default();
            let msg = it.next().expect("planted<TAB>variant<TAB>message");
            (planted, variant, msg)
        })
        .collect();

    let mut sources: Vec<Source> = pack::embedded();
    sources.push(Source {
        path: "intents/synthetic.yaml".into(),
        text: text.clone(),
    });
    let t0 = Instant::now();
    let compiled = pack::compile(&sources, &pack::Options::default());
    let compile_ms = t0.elapsed().as_secs_f64() * 1e3;
    let Some(bot) = compiled.bot else {
        for d in &compiled.diagnostics {
            eprintln!("{d}");
        }
        panic!("the synthetic pack does not compile");
    };
    drop(sources);

    // Accuracy (and warm-up): the chosen intent must be the planted one.
    let mut right: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut shown = 0;
    for (planted, variant, msg) in &messages {
        let (_, c) = engine::classify(&bot, msg);
        let got = match c.decision {
            Decision::Intent(i) => bot.intents[i].id.as_str(),
            Decision::Clarify(..) => "(clarify)",
            Decision::None => "out_of_scope",
        };
        let e = right.entry(variant).or_default();
        e.1 += 1;
        if got == *planted {
            e.0 += 1;
        } else if shown < 5 {
            shown += 1;
            eprintln!("compare: miss: {msg:?}: planted {planted}, got {got}");
        }
    }
    let correct: usize = right.values().map(|v| v.0).sum();

    // Throughput: whole passes, bounded in time and count.
    let started = Instant::now();
    let mut passes = 0u32;
    while passes < 200 && (passes < 1 || started.elapsed().as_secs_f64() < min_seconds) {
        for (_, _, msg) in &messages {
            black_box(engine::classify(&bot, black_box(msg)));
        }
        passes += 1;
    }
    let elapsed = started.elapsed();
    let per_s = (messages.len() as f64 * f64::from(passes)) / elapsed.as_secs_f64();

    let floor = floor(&text, &messages, min_seconds);

    // Latency: one more pass, each message timed on its own.
    let mut lat: Vec<Duration> = Vec::with_capacity(messages.len());
    for (_, _, msg) in &messages {
        let t = Instant::now();
        black_box(engine::classify(&bot, black_box(msg)));
        lat.push(t.elapsed());
    }
    lat.sort_unstable();
    let pct = |p: f64| {
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i].as_secs_f64() * 1e6
    };

    let by_variant: Vec<String> = right
        .iter()
        .map(|(v, (ok, all))| format!("\"{v}\":{:.4}", *ok as f64 / *all as f64))
        .collect();
    println!(
        "{{\"engine\":\"destek\",\"n\":{n},\"intents\":{},\"messages\":{},\"passes\":{passes},\
         \"msgs_per_s\":{per_s:.0},\"p50_us\":{:.2},\"p99_us\":{:.2},\"peak_rss_mib\":{:.1},\
         \"accuracy\":{:.4},\"accuracy_by_variant\":{{{}}},\"load_ms\":{compile_ms:.1},\
         \"floor_msgs_per_s\":{:.0},\"floor_accuracy\":{:.4},\"sampled\":false}}",
        bot.intents.len(),
        messages.len(),
        pct(0.50),
        pct(0.99),
        memory::status_kib("VmHWM") as f64 / 1024.0,
        correct as f64 / messages.len() as f64,
        by_variant.join(","),
        floor.0,
        floor.1,
    );
}

/// The floor: one bare aho-corasick scan of each raw message for the triggers exactly as
/// written (leftmost-first, no folding, no word boundaries, no other tier), what a keyword
/// engine cannot go below. Messages/s over whole passes, and how often the first trigger
/// found is the planted intent's.
fn floor(pack_yaml: &str, messages: &[(&str, &str, &str)], min_seconds: f64) -> (f64, f64) {
    #[derive(serde::Deserialize)]
    struct File {
        intents: Vec<Intent>,
    }
    #[derive(serde::Deserialize)]
    struct Intent {
        id: String,
        keywords: BTreeMap<String, Vec<String>>,
    }
    let file: File = serde_saphyr::from_str(pack_yaml).expect("the generated intents file");
    let mut triggers = Vec::new();
    let mut owner = Vec::new();
    for intent in &file.intents {
        for t in intent.keywords.values().flatten() {
            triggers.push(t.as_str());
            owner.push(intent.id.as_str());
        }
    }
    let ac = aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(&triggers)
        .expect("the triggers build an automaton");
    let right = messages
        .iter()
        .filter(|(planted, _, msg)| {
            ac.find(msg)
                .is_some_and(|m| owner[m.pattern().as_usize()] == *planted)
        })
        .count();
    let started = Instant::now();
    let mut passes = 0u32;
    while passes < 200 && (passes < 1 || started.elapsed().as_secs_f64() < min_seconds) {
        for (_, _, msg) in messages {
            black_box(ac.find(black_box(*msg)));
        }
        passes += 1;
    }
    let per_s = (messages.len() as f64 * f64::from(passes)) / started.elapsed().as_secs_f64();
    (per_s, right as f64 / messages.len() as f64)
}

/// `k` full turns, each on a fresh conversation, cycling through a mix of messages.
#[inline(never)]
fn profile_turns(bot: &destek::Bot, k: usize) -> usize {
    use destek::dialogue::{Conversation, Input};
    use destek::orders::{InMemoryOrders, today_utc};
    const MIX: &[&str] = &[
        "hello",
        "where is my order",
        "SİPARİŞİM NEREDE? SİPARİŞ NO 48213977",
        "سفارشم کجاست؟",
        "how much is shipping",
        "kargom ne zaman gelir",
    ];
    let orders = InMemoryOrders::demo(today_utc());
    let limiter = engine::VerifyLimiter::default();
    // DESTEK_COMPARE_PROFILE_TEXT: profile one message instead of the mix.
    let one = std::env::var("DESTEK_COMPARE_PROFILE_TEXT").ok();
    let inputs: Vec<Input> = match &one {
        Some(text) => vec![Input::text(text.as_str())],
        None => MIX.iter().map(|m| Input::text(*m)).collect(),
    };
    let mut replies = 0;
    for i in 0..k {
        let mut conv = Conversation::default();
        let out = ready(engine::turn(
            bot,
            &mut conv,
            black_box(&inputs[i % inputs.len()]),
            &orders,
            &limiter,
        ));
        replies += black_box(out).replies.len();
    }
    replies
}

/// The in-memory backend answers at once, so one poll finishes a turn.
fn ready<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
