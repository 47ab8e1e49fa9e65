//! Engine benchmarks: `cargo bench --bench engine`.
//!
//! - a full in-memory turn with the default pack (normalise, match, dialogue, demo orders);
//! - normalise + match (every tier: keywords, typos, examples) against 1,000 and 5,000
//!   synthetic intents (8 keywords and 3 × 20 examples each);
//! - compiling 5,000 synthetic intents with their examples from YAML.
//!
//! `DESTEK_ENGINE_PROFILE_INTENTS=n` (and `DESTEK_ENGINE_PROFILE_PASSES=k`, default 10)
//! instead runs `k` passes of normalise + match over the 1,000 messages against `n`
//! synthetic intents inside `profile_match` (and prints the resident memory after), for a profiler: `valgrind --tool=callgrind
//! --collect-atstart=no --toggle-collect='*profile_match*' target/release/deps/engine-…`.
//! `DESTEK_ENGINE_PROFILE_VERIFIED=k` runs `k` turns of the verified customer asking again
//! (`full_turn_verified_status`) inside `profile_verified` the same way.
//! `DESTEK_ENGINE_PROFILE_COMPILE=n` compiles the pack of `n` synthetic intents inside
//! `profile_compile` (`--toggle-collect='*profile_compile*'`).
//! `DESTEK_ENGINE_CHECKSUM=n` prints a checksum of every decision and every score (the
//! bits of each `f32`) over the bench's 1,000 messages against `n` synthetic intents: a
//! change to the engine's speed must leave it unchanged for large packs too (the default
//! pack's are checked by `examples/decisions.rs`).

#[path = "../tests/support/memory.rs"]
mod memory;

use destek::dialogue::{Conversation, Input};
use destek::orders::InMemoryOrders;
use destek::pack::{self, Source};
use destek::{Bot, engine};
use divan::{Bencher, black_box, counter::ItemsCount};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

fn main() {
    let env = |k: &str| std::env::var(k).ok().and_then(|s| s.parse::<usize>().ok());
    if let Some(k) = env("DESTEK_ENGINE_PROFILE_VERIFIED") {
        let bot = default_bot();
        let orders = InMemoryOrders::demo(destek::orders::today_utc());
        let verified = verified_conversation(&bot, &orders);
        let t = std::time::Instant::now();
        let replies = profile_verified(&bot, &orders, &verified, k);
        let s = t.elapsed().as_secs_f64();
        println!(
            "{{\"turns\":{k},\"replies\":{replies},\"mean_us\":{:.2}}}",
            s * 1e6 / k as f64
        );
        return;
    }
    if let Some(n) = env("DESTEK_ENGINE_PROFILE_COMPILE") {
        let (source, _) = synthetic(n);
        let mut sources: Vec<Source> = pack::embedded();
        sources.push(source);
        let t = std::time::Instant::now();
        let ok = profile_compile(&sources);
        println!(
            "{{\"intents\":{n},\"compiled\":{ok},\"seconds\":{:.3}}}",
            t.elapsed().as_secs_f64()
        );
        return;
    }
    if let Some(n) = env("DESTEK_ENGINE_CHECKSUM") {
        let (bot, keywords) = synthetic_bot(n);
        let msgs = messages(&keywords, 1_000);
        println!(
            "{{\"intents\":{n},\"checksum\":\"{:016x}\"}}",
            checksum(&bot, &msgs)
        );
        return;
    }
    if let Some(n) = env("DESTEK_ENGINE_PROFILE_INTENTS") {
        let (bot, keywords) = synthetic_bot(n);
        let msgs = messages(&keywords, 1_000);
        let passes = env("DESTEK_ENGINE_PROFILE_PASSES").unwrap_or(10);
        let t = std::time::Instant::now();
        let decided = profile_match(&bot, &msgs, passes);
        let s = t.elapsed().as_secs_f64();
        println!(
            "{{\"intents\":{n},\"messages\":{},\"decided\":{decided},\"msgs_per_s\":{:.0},\"rss_kb\":{}}}",
            msgs.len() * passes,
            (msgs.len() * passes) as f64 / s,
            memory::status_kib("VmRSS")
        );
        return;
    }
    divan::main();
}

/// `passes` rounds of normalise + match over `msgs`; how many messages found an intent.
#[inline(never)]
fn profile_match(bot: &Bot, msgs: &[String], passes: usize) -> usize {
    let mut decided = 0;
    for _ in 0..passes {
        for m in msgs {
            let (_, c) = engine::classify(bot, black_box(m));
            decided += usize::from(matches!(c.decision, destek::matcher::Decision::Intent(_)));
        }
    }
    decided
}

/// Compiles `sources`; whether a bot came out.
#[inline(never)]
fn profile_compile(sources: &[Source]) -> bool {
    pack::compile(black_box(sources), &pack::Options::default())
        .bot
        .is_some()
}

/// FNV-1a over every message's decision, language, out-of-scope cosine, every intent's
/// scores (as bits) and its typo corrections.
fn checksum(bot: &Bot, msgs: &[String]) -> u64 {
    use destek::matcher::Decision;
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    let mut eat = |x: u64| {
        for b in x.to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
    };
    let lines = std::env::var_os("DESTEK_ENGINE_CHECKSUM_LINES").is_some();
    for m in msgs {
        let (_, c) = engine::classify(bot, m);
        if lines {
            let scores: Vec<String> = c
                .scores
                .iter()
                .map(|s| format!("{}:{:08x}", s.intent, s.score.to_bits()))
                .collect();
            println!("{m}\t{:?}\t{}", c.decision, scores.join(" "));
        }
        let (a, b) = match c.decision {
            Decision::Intent(i) => (i, usize::MAX),
            Decision::Clarify(a, b) => (a, b),
            Decision::None => (usize::MAX, usize::MAX - 1),
        };
        eat(a as u64);
        eat(b as u64);
        eat(c.lang.map_or(9, |l| l.index()) as u64);
        eat(u64::from(c.out_of_scope.to_bits()));
        for s in &c.scores {
            eat(s.intent as u64);
            for f in [s.score, s.keywords, s.similarity, s.cosine, s.entity] {
                eat(u64::from(f.to_bits()));
            }
            eat(u64::from(s.vetoed) | u64::from(s.decisive) << 1 | u64::from(s.out_of_scope) << 2);
        }
        for k in &c.corrections {
            for b in k.from.bytes().chain([0]).chain(k.to.bytes()).chain([0]) {
                eat(u64::from(b));
            }
        }
    }
    h
}

/// The in-memory backend answers at once, so one poll finishes a turn; no runtime needed.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn default_bot() -> Bot {
    pack::compile(&pack::embedded(), &pack::Options::default())
        .bot
        .expect("the default pack compiles")
}

/// Deterministic pseudo-random numbers (no dependency needed for a benchmark corpus).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[(self.next() as usize) % xs.len()]
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "ri", "mo", "tu", "se", "la", "ne", "po", "di", "ga", "ve", "zu", "şa", "çi", "ğo", "ba",
    "fe", "lo", "mi", "ru", "sta", "tre", "kon", "der", "pel", "vin", "ası", "ör",
];

fn word(rng: &mut Lcg) -> String {
    let n = 3 + (rng.next() % 2) as usize;
    (0..n).map(|_| rng.pick(SYLLABLES)).collect()
}

const EXAMPLES_PER_LANG: usize = 20;

/// A pack file with `n` intents of 8 distinct keywords each (as in a real pack, a keyword
/// belongs to one intent) and 20 examples per language, plus the keywords themselves.
fn synthetic(n: usize) -> (Source, Vec<String>) {
    let mut rng = Lcg(42);
    let mut yaml = String::from("intents:\n");
    let mut all = Vec::with_capacity(n * 8);
    let mut seen = std::collections::HashSet::new();
    for i in 0..n {
        let mut kws: Vec<String> = Vec::with_capacity(8);
        while kws.len() < 8 {
            let w = word(&mut rng);
            if seen.insert(w.clone()) {
                kws.push(w);
            }
        }
        let tr = kws[..4].join(", ");
        let en = kws[4..6].join(", ");
        let fa = kws[6..].join(", ");
        yaml += &format!(
            "  - id: synthetic_{i}\n    answer: greeting\n    keywords: {{tr: [{tr}], fa: [{fa}], en: [{en}]}}\n    examples:\n"
        );
        // 20 examples per language: one of the intent's keywords among other words.
        for lang in ["tr", "fa", "en"] {
            let examples: Vec<String> = (0..EXAMPLES_PER_LANG)
                .map(|_| {
                    let k = &kws[(rng.next() as usize) % kws.len()];
                    format!("{} {k} {}", word(&mut rng), word(&mut rng))
                })
                .collect();
            yaml += &format!("      {lang}: [{}]\n", examples.join(", "));
        }
        all.extend(kws);
    }
    (
        Source {
            path: "intents/synthetic.yaml".into(),
            text: yaml,
        },
        all,
    )
}

fn synthetic_bot(n: usize) -> (Bot, Vec<String>) {
    let (source, keywords) = synthetic(n);
    let mut sources: Vec<Source> = pack::embedded();
    sources.push(source);
    let compiled = pack::compile(&sources, &pack::Options::default());
    let Some(bot) = compiled.bot else {
        for d in compiled.diagnostics.iter().take(5) {
            eprintln!("{d}");
        }
        panic!("the synthetic pack does not compile");
    };
    (bot, keywords)
}

/// Messages the way customers type them: a few filler words and one or two planted keywords,
/// with suffixes, capitals and punctuation.
fn messages(keywords: &[String], count: usize) -> Vec<String> {
    let mut rng = Lcg(7);
    let filler = [
        "merhaba", "lütfen", "acaba", "please", "hi", "the", "my", "bir", "şey", "ne",
    ];
    (0..count)
        .map(|_| {
            let k1 = &keywords[(rng.next() as usize) % keywords.len()];
            let k2 = &keywords[(rng.next() as usize) % keywords.len()];
            format!(
                "{} {} {}ları {} {}?",
                rng.pick(&filler),
                k1.to_uppercase(),
                k2,
                rng.pick(&filler),
                rng.pick(&filler)
            )
        })
        .collect()
}

#[divan::bench(args = [1_000, 5_000])]
fn normalise_and_match(bencher: Bencher, intents: usize) {
    let (bot, keywords) = synthetic_bot(intents);
    let msgs = messages(&keywords, 1_000);
    bencher.counter(ItemsCount::new(msgs.len())).bench(|| {
        for m in &msgs {
            black_box(engine::classify(&bot, black_box(m)));
        }
    });
}

#[divan::bench(sample_count = 20)]
fn compile_5000_intents(bencher: Bencher) {
    let (source, _) = synthetic(5_000);
    let mut sources: Vec<Source> = pack::embedded();
    sources.push(source);
    bencher.bench(|| {
        let c = pack::compile(black_box(&sources), &pack::Options::default());
        assert!(c.bot.is_some());
        c
    });
}

#[divan::bench(args = ["hello", "where is my order", "SİPARİŞİM NEREDE? SİPARİŞ NO 48213977", "سفارشم کجاست؟"])]
fn full_turn_fresh_conversation(bencher: Bencher, text: &str) {
    let bot = default_bot();
    let orders = InMemoryOrders::demo(destek::orders::today_utc());
    let limiter = engine::VerifyLimiter::default();
    let input = Input::text(text);
    bencher.bench(|| {
        let mut conv = Conversation::default();
        ready(engine::turn(
            &bot,
            &mut conv,
            black_box(&input),
            &orders,
            &limiter,
        ))
    });
}

/// A conversation whose customer has just verified order 48213977.
fn verified_conversation(bot: &Bot, orders: &InMemoryOrders) -> Conversation {
    let limiter = engine::VerifyLimiter::default();
    let mut verified = Conversation::default();
    for text in ["where is my order 48213977", "ayse.yilmaz@example.com"] {
        ready(engine::turn(
            bot,
            &mut verified,
            &Input::text(text),
            orders,
            &limiter,
        ));
    }
    assert_eq!(verified.verified_order.as_deref(), Some("48213977"));
    verified
}

/// `k` turns of the verified customer asking again, each from the verified state.
#[inline(never)]
fn profile_verified(
    bot: &Bot,
    orders: &InMemoryOrders,
    verified: &Conversation,
    k: usize,
) -> usize {
    let limiter = engine::VerifyLimiter::default();
    let input = Input::text("when will it get here");
    let mut replies = 0;
    for _ in 0..k {
        let mut conv = verified.clone();
        let out = ready(engine::turn(
            bot,
            &mut conv,
            black_box(&input),
            orders,
            &limiter,
        ));
        replies += black_box(out).replies.len();
    }
    replies
}

/// A verified customer asks again: the turn looks the order up and renders its status.
#[divan::bench]
fn full_turn_verified_status(bencher: Bencher) {
    let bot = default_bot();
    let orders = InMemoryOrders::demo(destek::orders::today_utc());
    let limiter = engine::VerifyLimiter::default();
    let verified = verified_conversation(&bot, &orders);
    let input = Input::text("when will it get here");
    bencher.with_inputs(|| verified.clone()).bench_refs(|conv| {
        ready(engine::turn(
            &bot,
            conv,
            black_box(&input),
            &orders,
            &limiter,
        ))
    });
}
