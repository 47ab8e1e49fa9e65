//! A shop with a big catalogue of intents: a generated pack of 10,000 intents, every keyword
//! written as a `{text, whole_word}` map (the form that breached the YAML parser's default
//! node budget at 5,000 intents), loads, and its last intent is still found.

use destek::pack::{self, Source};
use destek::{Bot, eval};

#[path = "support/system_templates.rs"]
mod system_templates;
use system_templates::SYSTEM;

const INTENTS: usize = 10_000;

/// A made-up word unique to intent `i` and keyword `k`: fixed length, so no keyword is the
/// start of another.
fn word(i: usize, k: usize) -> String {
    let mut w = String::from("zq");
    let mut n = i;
    for _ in 0..4 {
        w.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
    }
    w.push(char::from(b'a' + k as u8));
    w
}

fn big_pack() -> String {
    let mut yaml = String::from("intents:\n");
    for i in 0..INTENTS {
        let kw = |k: usize| format!("{{text: {}, whole_word: false}}", word(i, k));
        yaml += &format!(
            "  - id: item_{i}\n    answer: ok\n    keywords:\n      tr: [{}, {}]\n      en: [{}, {}]\n      fa: [{}]\n    examples:\n      tr: [{} nerede]\n      en: [where is {}]\n",
            kw(0),
            kw(1),
            kw(2),
            kw(3),
            kw(4),
            word(i, 0),
            word(i, 2),
        );
    }
    yaml
}

fn compile(yaml: String) -> Bot {
    let sources = vec![
        Source {
            path: "flows/system.yaml".into(),
            text: SYSTEM.into(),
        },
        Source {
            path: "intents/catalogue.yaml".into(),
            text: yaml,
        },
    ];
    let c = pack::compile(&sources, &pack::Options::default());
    let errors: Vec<String> = c.diagnostics.iter().map(ToString::to_string).collect();
    c.bot.unwrap_or_else(|| panic!("{}", errors.join("\n")))
}

#[test]
fn a_pack_of_ten_thousand_intents_loads_and_matches() {
    let bot = compile(big_pack());
    assert_eq!(bot.intents.len(), INTENTS);
    let last = INTENTS - 1;
    let text = format!("merhaba {}lari ne zaman gelir", word(last, 1));
    assert_eq!(eval::predict(&bot, &text).0, format!("item_{last}"));
    let text = format!("where is my {}", word(4_321, 3).to_uppercase());
    assert_eq!(eval::predict(&bot, &text).0, "item_4321");
}
