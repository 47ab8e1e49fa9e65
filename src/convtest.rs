//! Tests written as data: every intent's `examples`, and conversation files
//! (`tests/conversations/*.yaml`) of customer turns with the expected intent, reply
//! fragments and handoff. Run by `destek test` and by `cargo test` alike.

use crate::bot::Bot;
use crate::dialogue::{Conversation, Input, Outcome};
use crate::engine;
use crate::lang::Lang;
use crate::matcher::Decision;
use crate::normalise::fold;
use crate::orders::InMemoryOrders;
use crate::pack::Source;
use crate::pack::diag::yaml_message;
use serde::Deserialize;
use std::fmt;

/// One conversation test.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationTest {
    pub name: String,
    /// The channel's language hint, as Telegram or the widget would send it.
    pub lang: Option<String>,
    pub turns: Vec<TurnTest>,
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
}

impl Report {
    fn record(&mut self, failure: Option<Failure>) {
        match failure {
            Some(f) => self.failures.push(f),
            None => self.passed += 1,
        }
    }
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

/// Runs the conversation tests of one file, each from a fresh conversation against the
/// demo orders. A file that does not parse is reported as one failure.
pub fn run_file(bot: &Bot, source: &Source, report: &mut Report) {
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
        let failure = runtime.block_on(run_conversation(bot, &source.path, test));
        report.record(failure);
    }
}

async fn run_conversation(bot: &Bot, file: &str, test: &ConversationTest) -> Option<Failure> {
    let orders = InMemoryOrders::demo(crate::orders::today_utc());
    let limiter = engine::VerifyLimiter::default();
    let mut conv = Conversation::default();
    let hint = test.lang.as_deref().and_then(Lang::parse);
    for (n, t) in test.turns.iter().enumerate() {
        let input = match (&t.customer, &t.button) {
            (Some(text), _) => Input::text(text.clone()),
            (None, Some(payload)) => Input::payload(payload.clone()),
            (None, None) => Input::default(),
        }
        .with_lang(hint);
        let out = engine::turn(bot, &mut conv, &input, &orders, &limiter).await;
        let problems = check_turn(t, &out, conv.handoff.is_some());
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

fn check_turn(t: &TurnTest, out: &Outcome, in_handoff: bool) -> Vec<String> {
    let mut problems = Vec::new();
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
