//! Every message's decision and scores, bit for bit, for checking that a change to the
//! matcher's speed changes no decision: run it before and after, then `diff` the outputs.
//!
//! ```sh
//! cargo run --release --example decisions -- tests/eval/tune.jsonl tests/eval/holdout.jsonl > before.txt
//! ```
//!
//! Loads the pack the way `destek` does (the configuration in the current directory), reads
//! labelled JSON lines (`{"text": …}`) and prints one line per message: the decision, the
//! out-of-scope cosine and each intent's score as the exact bits of the `f32`.

use destek::config::Config;
use destek::engine;
use destek::eval::parse_lines;
use destek::matcher::Decision;
use std::fmt::Write;

fn main() -> Result<(), String> {
    let config = Config::load(None)?;
    let bot = destek::cli::load(&config)?;
    for file in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
        let items = parse_lines(&text).map_err(|e| format!("{file}: {e}"))?;
        for item in &items {
            let (_, c) = engine::classify(&bot, &item.text);
            let decision = match c.decision {
                Decision::Intent(i) => bot.intents[i].id.clone(),
                Decision::Clarify(a, b) => {
                    format!("clarify({},{})", bot.intents[a].id, bot.intents[b].id)
                }
                Decision::None => "none".to_owned(),
            };
            let mut line = format!(
                "{decision}\toos={:08x}\tlang={:?}",
                c.out_of_scope.to_bits(),
                c.lang
            );
            for s in &c.scores {
                let _ = write!(
                    line,
                    "\t{}:{:08x}:{:08x}:{:08x}:{}{}",
                    bot.intents[s.intent].id,
                    s.score.to_bits(),
                    s.keywords.to_bits(),
                    s.cosine.to_bits(),
                    u8::from(s.vetoed),
                    u8::from(s.out_of_scope)
                );
            }
            for k in &c.corrections {
                let _ = write!(line, "\t{}->{}", k.from, k.to);
            }
            println!("{line}\t{:?}", item.text);
        }
    }
    Ok(())
}
