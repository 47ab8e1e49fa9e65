//! Tests written as data: every intent's `examples`, and conversation files
//! (`tests/conversations/*.yaml`) of customer turns with the expected intent, reply
//! fragments and handoff. Run by `destek test` and by `cargo test` alike.

use crate::bot::Bot;
use crate::dialogue::{Availability, Conversation, Input, Outcome};
use crate::engine;
use crate::lang::Lang;
use crate::matcher::Decision;
use crate::normalise::fold;
use crate::orders::sqlite::SqliteOrders;
use crate::orders::{InMemoryOrders, Order, OrderBackend};
use crate::pack::Source;
use crate::pack::diag::yaml_message;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// One conversation test.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationTest {
    pub name: String,
    /// The channel's language hint, as Telegram or the widget would send it.
    pub lang: Option<String>,
    /// Behaviour tags this conversation covers; `destek test` counts passes per tag.
    #[serde(default)]
    pub covers: Vec<String>,
    /// A known gap: the conversation still runs and is reported apart from the passes
    /// (and from the failures), with this reason. One that starts passing is reported too.
    pub known_failure: Option<String>,
    /// What the back end holds: the conversation runs against these orders in a private
    /// SQLite order store instead of the demo orders.
    #[serde(default)]
    pub orders: Vec<Order>,
    /// Today in the shop's time zone (`2026-03-09`); the real date when absent.
    pub today: Option<String>,
    /// Whether the team is at work: `open` (with a short wait) or `closed`; absent, the
    /// bot says nothing about availability.
    pub team: Option<Team>,
    /// The shop verifies phones with a one-time code by SMS, and this is the code it sends.
    pub one_time_code: Option<String>,
    /// The shop settings the conversation assumes (the `shop:` section of `destek.yaml`;
    /// unnamed settings take their defaults): the pack is compiled again with them.
    pub shop: Option<crate::shop::Shop>,
    pub turns: Vec<TurnTest>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Team {
    Open,
    Closed,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnTest {
    /// What the customer types…
    pub customer: Option<String>,
    /// …or the payload of the button they press.
    pub button: Option<String>,
    /// The intent the message must be classified as; `none` when it must match none.
    pub intent: Option<String>,
    /// Fragments that must each appear in the bot's replies (compared after folding, so
    /// case and Turkish/Persian spelling variants do not matter).
    #[serde(default)]
    pub reply: Vec<String>,
    /// Fragments that must not appear.
    #[serde(default)]
    pub not_reply: Vec<String>,
    /// Whether the conversation is with a person after this turn.
    pub handoff: Option<bool>,
    /// Payloads of buttons that must be offered.
    #[serde(default)]
    pub buttons: Vec<String>,
    /// The bot must say nothing (a handed-off conversation).
    #[serde(default)]
    pub silent: bool,
    /// Templates the replies must include, by id: what was said whatever the wording.
    #[serde(default)]
    pub says: Vec<String>,
    /// Templates the replies must not include.
    #[serde(default)]
    pub not_says: Vec<String>,
    /// Fragments the handoff summary the team receives must each contain.
    #[serde(default)]
    pub summary: Vec<String>,
}

/// A failed expectation, printed as a readable diff.
#[derive(Debug, Clone)]
pub struct Failure {
    pub file: String,
    pub test: String,
    pub turn: Option<usize>,
    pub said: String,
    pub problems: Vec<String>,
    pub replies: Vec<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.turn {
            Some(n) => writeln!(
                f,
                "FAIL {} — {} — turn {}: customer: {:?}",
                self.file, self.test, n, self.said
            )?,
            None => writeln!(f, "FAIL {} — {}: {:?}", self.file, self.test, self.said)?,
        }
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        if !self.replies.is_empty() {
            writeln!(f, "  bot said:")?;
            for r in &self.replies {
                for line in r.lines() {
                    writeln!(f, "  | {line}")?;
                }
            }
        }
        Ok(())
    }
}

/// Counts and failures of a test run.
#[derive(Debug, Default)]
pub struct Report {
    pub passed: usize,
    pub failures: Vec<Failure>,
    /// Intent examples the bot recognises as their own intent.
    pub examples_recognised: usize,
    /// Intent examples it does not: a warning, since examples are evidence, not rules
    /// (`destek explain` shows which intent's examples sit closer).
    pub example_misses: Vec<Failure>,
    /// Conversations marked `known_failure` that still fail, with the reason and the
    /// first problem.
    pub known: Vec<(Failure, String)>,
    /// Conversations marked `known_failure` that pass now: the mark should go.
    pub fixed: Vec<String>,
    /// Per behaviour tag: conversations passed, known failures, and total.
    pub tags: BTreeMap<String, TagCount>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TagCount {
    pub passed: usize,
    pub known: usize,
    pub total: usize,
}

impl Report {
    fn record(&mut self, failure: Option<Failure>) {
        match failure {
            Some(f) => self.failures.push(f),
            None => self.passed += 1,
        }
    }

    fn record_conversation(&mut self, test: &ConversationTest, failure: Option<Failure>) {
        let passed = failure.is_none();
        let known = test.known_failure.is_some() && !passed;
        for tag in &test.covers {
            let c = self.tags.entry(tag.clone()).or_default();
            c.total += 1;
            c.passed += usize::from(passed);
            c.known += usize::from(known);
        }
        match (&test.known_failure, failure) {
            (Some(reason), Some(f)) => self.known.push((f, reason.clone())),
            (Some(_), None) => self.fixed.push(test.name.clone()),
            (None, f) => self.record(f),
        }
    }

    /// `tag: passed/total (n known failures)`, one line per tag.
    pub fn tag_lines(&self) -> Vec<String> {
        self.tags
            .iter()
            .map(|(tag, c)| {
                let mut line = format!("{tag}: {}/{}", c.passed, c.total);
                if c.known > 0 {
                    line.push_str(&format!(" ({} known failure{})", c.known, plural(c.known)));
                }
                line
            })
            .collect()
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Checks that each intent example is recognised as its intent; misses are recorded as
/// warnings in `example_misses`.
pub fn check_examples(bot: &Bot, report: &mut Report) {
    for intent in &bot.intents {
        for (lang, text) in &intent.examples {
            let (_, class) = engine::classify(bot, text);
            let got = match class.decision {
                Decision::Intent(i) => bot.intents[i].id.clone(),
                Decision::Clarify(a, b) => {
                    format!("a question: {} or {}", bot.intents[a].id, bot.intents[b].id)
                }
                Decision::None => "out_of_scope".to_owned(),
            };
            let failure = (got != intent.id).then(|| Failure {
                file: "examples".into(),
                test: format!("{} ({lang})", intent.id),
                turn: None,
                said: text.clone(),
                problems: vec![format!("expected intent {}, got {got}", intent.id)],
                replies: Vec::new(),
            });
            match failure {
                Some(f) => report.example_misses.push(f),
                None => report.examples_recognised += 1,
            }
        }
    }
}

/// The pack a bot was compiled from, so a test that assumes other shop settings can
/// compile it again with them.
#[derive(Clone, Copy)]
pub struct Pack<'a> {
    pub sources: &'a [Source],
    pub options: &'a crate::pack::Options,
}

/// Runs the conversation tests of one file, each from a fresh conversation against the
/// demo orders. A file that does not parse is reported as one failure.
pub fn run_file(bot: &Bot, source: &Source, report: &mut Report) {
    run_file_with(bot, None, source, report);
}

/// `run_file`, able to run tests with their own `shop:` settings when given the pack.
pub fn run_file_with(bot: &Bot, pack: Option<Pack<'_>>, source: &Source, report: &mut Report) {
    let tests: Vec<ConversationTest> = match serde_saphyr::from_str(&source.text) {
        Ok(t) => t,
        Err(e) => {
            let (line, col) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            report.record(Some(Failure {
                file: format!("{}:{line}:{col}", source.path),
                test: "parse".into(),
                turn: None,
                said: String::new(),
                problems: vec![yaml_message(&e)],
                replies: Vec::new(),
            }));
            return;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(r) => r,
        Err(e) => {
            report.record(Some(Failure {
                file: source.path.clone(),
                test: "runtime".into(),
                turn: None,
                said: String::new(),
                problems: vec![format!("cannot start a runtime: {e}")],
                replies: Vec::new(),
            }));
            return;
        }
    };
    for test in &tests {
        let failure = match shop_bot(pack, test) {
            Ok(Some(own)) => runtime.block_on(run_conversation(&own, &source.path, test)),
            Ok(None) => runtime.block_on(run_conversation(bot, &source.path, test)),
            Err(problem) => Some(Failure {
                file: source.path.clone(),
                test: test.name.clone(),
                turn: None,
                said: String::new(),
                problems: vec![problem],
                replies: Vec::new(),
            }),
        };
        report.record_conversation(test, failure);
    }
}

/// The bot for a test with its own shop settings: the pack compiled again with them.
fn shop_bot(pack: Option<Pack<'_>>, test: &ConversationTest) -> Result<Option<Bot>, String> {
    let Some(shop) = &test.shop else {
        return Ok(None);
    };
    let pack = pack.ok_or("a test with `shop` settings needs the pack to compile again")?;
    let options = crate::pack::Options {
        shop: shop.clone(),
        ..pack.options.clone()
    };
    let compiled = crate::pack::compile(pack.sources, &options);
    compiled
        .bot
        .map(Some)
        .ok_or_else(|| "the pack does not compile with these shop settings".to_owned())
}

/// The order store a test runs against: the orders its `assume` describes in a private
/// SQLite store, or else the demo orders.
fn backend(test: &ConversationTest) -> Result<Box<dyn OrderBackend>, String> {
    if test.orders.is_empty() {
        return Ok(Box::new(InMemoryOrders::demo(crate::orders::today_utc())));
    }
    let store = SqliteOrders::open_in_memory().map_err(|e| e.to_string())?;
    for o in &test.orders {
        store.upsert(o).map_err(|e| e.to_string())?;
    }
    Ok(match &test.one_time_code {
        Some(code) => Box::new(crate::orders::texted_codes::TextedCodes {
            inner: Box::new(store),
            code: crate::normalise::normalise(code).entity_text,
        }),
        None => Box::new(store),
    })
}

async fn run_conversation(bot: &Bot, file: &str, test: &ConversationTest) -> Option<Failure> {
    let orders = match backend(test) {
        Ok(b) => b,
        Err(e) => {
            return Some(Failure {
                file: file.to_owned(),
                test: test.name.clone(),
                turn: None,
                said: String::new(),
                problems: vec![format!("cannot seed the orders: {e}")],
                replies: Vec::new(),
            });
        }
    };
    let limiter = engine::VerifyLimiter::default();
    let mut conv = Conversation::default();
    let hint = test.lang.as_deref().and_then(Lang::parse);
    let availability = test.team.map(|t| match t {
        Team::Open => Availability::Open { wait_minutes: 5 },
        Team::Closed => Availability::Closed {
            weekday: 0,
            time: "09:00".into(),
            days_ahead: 1,
        },
    });
    for (n, t) in test.turns.iter().enumerate() {
        let mut input = match (&t.customer, &t.button) {
            (Some(text), _) => Input::text(text.clone()),
            (None, Some(payload)) => Input::payload(payload.clone()),
            (None, None) => Input::default(),
        }
        .with_lang(hint);
        input.today = test.today.as_deref().and_then(|d| d.parse().ok());
        input.availability = availability.clone();
        let out = engine::turn(bot, &mut conv, &input, orders.as_ref(), &limiter).await;
        let problems = check_turn(t, &out, &conv);
        if !problems.is_empty() {
            return Some(Failure {
                file: file.to_owned(),
                test: test.name.clone(),
                turn: Some(n + 1),
                said: t
                    .customer
                    .clone()
                    .or_else(|| t.button.as_ref().map(|b| format!("[button {b}]")))
                    .unwrap_or_default(),
                problems,
                replies: out.replies.iter().map(reply_text).collect(),
            });
        }
    }
    None
}

fn reply_text(r: &crate::dialogue::Reply) -> String {
    let mut s = r.text.clone();
    if !r.buttons.is_empty() {
        let labels: Vec<String> = r.buttons.iter().map(|b| format!("[{}]", b.label)).collect();
        s.push('\n');
        s.push_str(&labels.join(" "));
    }
    s
}

fn check_turn(t: &TurnTest, out: &Outcome, conv: &Conversation) -> Vec<String> {
    let in_handoff = conv.handoff.is_some();
    let mut problems = Vec::new();
    for r in &out.replies {
        if let Some(gap) = blank_gap(&r.text) {
            problems.push(format!(
                "a reply has a blank where a value should be: {gap:?}"
            ));
        }
    }
    let said_templates: Vec<&str> = out.replies.iter().map(|r| r.template.as_str()).collect();
    for id in &t.says {
        if !said_templates.contains(&id.as_str()) {
            problems.push(format!("expected the bot to say template {id}"));
        }
    }
    for id in &t.not_says {
        if said_templates.contains(&id.as_str()) {
            problems.push(format!("expected the bot not to say template {id}"));
        }
    }
    if !t.summary.is_empty() {
        let summary = conv
            .handoff
            .as_ref()
            .map(|h| h.summary.as_str())
            .unwrap_or_default();
        for fragment in &t.summary {
            if !fold(summary).contains(&fold(fragment)) {
                problems.push(format!(
                    "expected the handoff summary to contain {fragment:?}, it is {summary:?}"
                ));
            }
        }
    }
    if let Some(want) = &t.intent {
        let got = out.intent.as_deref().unwrap_or("none");
        if got != want {
            problems.push(format!("expected intent {want}, got {got}"));
        }
    }
    let said = fold(
        &out.replies
            .iter()
            .map(reply_text)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    for fragment in &t.reply {
        if !said.contains(&fold(fragment)) {
            problems.push(format!("expected a reply containing {fragment:?}"));
        }
    }
    for fragment in &t.not_reply {
        if said.contains(&fold(fragment)) {
            problems.push(format!("expected no reply containing {fragment:?}"));
        }
    }
    for payload in &t.buttons {
        let offered = out
            .replies
            .iter()
            .flat_map(|r| &r.buttons)
            .any(|b| &b.payload == payload);
        if !offered {
            problems.push(format!("expected a button with payload {payload:?}"));
        }
    }
    if let Some(want) = t.handoff
        && want != in_handoff
    {
        problems.push(if want {
            "expected the conversation to be with a person".to_owned()
        } else {
            "expected the bot to keep the conversation, but it was handed off".to_owned()
        });
    }
    if t.silent && !out.replies.is_empty() {
        problems.push("expected the bot to stay silent".to_owned());
    }
    problems
}

/// Traces of a variable that rendered as nothing: empty brackets, a comma or a space before
/// punctuation, two spaces in a row.
pub fn blank_gap(text: &str) -> Option<&'static str> {
    ["()", "(,", "( ", " ,", " ،", "  ", " .", "of  ", "within  "]
        .into_iter()
        .find(|g| text.contains(g))
}
