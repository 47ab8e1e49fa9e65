//! Accuracy of the matcher on labelled messages (`destek eval FILE.jsonl`): per language,
//! per intent (precision and recall), and the pairs it confuses.

use crate::bot::Bot;
use crate::engine;
use crate::matcher::Decision;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The label of a message that matches no intent.
pub const OUT_OF_SCOPE: &str = "out_of_scope";

/// One labelled line; other fields are ignored.
#[derive(Debug, Deserialize)]
pub struct Labelled {
    pub text: String,
    pub intent: String,
    #[serde(default)]
    pub lang: Option<String>,
}

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Tally {
    pub total: usize,
    pub correct: usize,
    pub accuracy: f64,
}

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct IntentScore {
    pub support: usize,
    pub predicted: usize,
    pub correct: usize,
    pub precision: f64,
    pub recall: f64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Confusion {
    pub expected: String,
    pub got: String,
    pub count: usize,
    pub examples: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct EvalReport {
    pub total: usize,
    pub correct: usize,
    pub accuracy: f64,
    pub per_lang: BTreeMap<String, Tally>,
    pub per_intent: BTreeMap<String, IntentScore>,
    pub confusions: Vec<Confusion>,
    /// Messages the bot would answer with a clarifying question (scored as its first choice).
    pub clarified: usize,
}

/// Parses JSON lines; blank lines are skipped, a bad line is an error naming its number.
pub fn parse_lines(text: &str) -> Result<Vec<Labelled>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// What the bot makes of one message, as an intent id.
pub fn predict(bot: &Bot, text: &str) -> (String, bool) {
    let (_, class) = engine::classify(bot, text);
    match class.decision {
        Decision::Intent(i) => (bot.intents[i].id.clone(), false),
        Decision::Clarify(a, _) => (bot.intents[a].id.clone(), true),
        Decision::None => (OUT_OF_SCOPE.to_owned(), false),
    }
}

pub fn evaluate(bot: &Bot, items: &[Labelled]) -> EvalReport {
    let mut r = EvalReport::default();
    let mut confusions: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for item in items {
        let (got, clarified) = predict(bot, &item.text);
        let ok = got == item.intent;
        r.total += 1;
        r.correct += usize::from(ok);
        r.clarified += usize::from(clarified);
        let lang = item.lang.clone().unwrap_or_else(|| "?".into());
        let t = r.per_lang.entry(lang).or_default();
        t.total += 1;
        t.correct += usize::from(ok);
        r.per_intent.entry(item.intent.clone()).or_default().support += 1;
        let p = r.per_intent.entry(got.clone()).or_default();
        p.predicted += 1;
        p.correct += usize::from(ok);
        if !ok {
            confusions
                .entry((item.intent.clone(), got))
                .or_default()
                .push(item.text.clone());
        }
    }
    r.accuracy = ratio(r.correct, r.total);
    for t in r.per_lang.values_mut() {
        t.accuracy = ratio(t.correct, t.total);
    }
    for s in r.per_intent.values_mut() {
        s.precision = ratio(s.correct, s.predicted);
        s.recall = ratio(s.correct, s.support);
    }
    r.confusions = confusions
        .into_iter()
        .map(|((expected, got), examples)| Confusion {
            expected,
            got,
            count: examples.len(),
            examples,
        })
        .collect();
    r.confusions.sort_by_key(|c| std::cmp::Reverse(c.count));
    r
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

impl EvalReport {
    /// The human-readable report.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "accuracy {:.1}% ({}/{})\n\nper language:\n",
            self.accuracy * 100.0,
            self.correct,
            self.total
        );
        for (lang, t) in &self.per_lang {
            s += &format!(
                "  {lang:<4} {:>6.1}%  ({}/{})\n",
                t.accuracy * 100.0,
                t.correct,
                t.total
            );
        }
        s += "\nper intent:          precision  recall  support\n";
        for (id, p) in &self.per_intent {
            s += &format!(
                "  {id:<18} {:>9.1}% {:>6.1}% {:>8}\n",
                p.precision * 100.0,
                p.recall * 100.0,
                p.support
            );
        }
        if !self.confusions.is_empty() {
            s += "\nconfusions (expected -> got):\n";
            for c in &self.confusions {
                s += &format!("  {} -> {}: {}\n", c.expected, c.got, c.count);
                for e in c.examples.iter().take(3) {
                    s += &format!("      {e}\n");
                }
            }
        }
        if self.clarified > 0 {
            s += &format!(
                "\n{} messages would get a clarifying question (scored as its first choice)\n",
                self.clarified
            );
        }
        s
    }
}
