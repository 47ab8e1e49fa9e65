//! The matching rules operators rely on, on a small pack built for each rule.

use destek::dialogue::{Conversation, Input};
use destek::engine::{self, VerifyLimiter};
use destek::matcher::Decision;
use destek::orders::{InMemoryOrders, today_utc};
use destek::pack::{self, Source};
use destek::{Bot, engine::classify};

#[path = "support/system_templates.rs"]
mod system_templates;
use system_templates::SYSTEM;

fn bot(intents: &str) -> Bot {
    let sources = vec![
        Source {
            path: "flows/system.yaml".into(),
            text: SYSTEM.into(),
        },
        Source {
            path: "intents/test.yaml".into(),
            text: intents.into(),
        },
    ];
    let c = pack::compile(&sources, &pack::Options::default());
    let errors: Vec<String> = c.diagnostics.iter().map(ToString::to_string).collect();
    c.bot.unwrap_or_else(|| panic!("{}", errors.join("\n")))
}

fn intent(bot: &Bot, text: &str) -> String {
    match classify(bot, text).1.decision {
        Decision::Intent(i) => bot.intents[i].id.clone(),
        Decision::Clarify(a, b) => format!("{}|{}", bot.intents[a].id, bot.intents[b].id),
        Decision::None => "none".into(),
    }
}

#[test]
fn keywords_match_at_word_start_so_suffixes_still_match() {
    let b = bot(r#"
intents:
  - id: cargo
    answer: ok
    keywords: {tr: [kargo], fa: [سفارش], en: [parcel]}
  - id: hi
    answer: ok
    keywords: {tr: [{text: selam, whole_word: true}], fa: [درود], en: [{text: hi, whole_word: true}]}
"#);
    assert_eq!(intent(&b, "KARGOMUN durumu"), "cargo");
    assert_eq!(intent(&b, "سفارشم کجاست"), "cargo");
    assert_eq!(intent(&b, "my parcels"), "cargo");
    assert_eq!(intent(&b, "makargo"), "none", "not inside a word");
    assert_eq!(intent(&b, "hi there"), "hi");
    assert_eq!(
        intent(&b, "hiring?"),
        "none",
        "whole-word keywords need the whole word"
    );
    assert_eq!(intent(&b, "selamlar"), "none");
}

#[test]
fn weights_add_up_and_negative_keywords_veto() {
    let b = bot(r#"
intents:
  - id: refund
    answer: ok
    keywords:
      tr: [{text: para, weight: 0.5}, {text: iade, weight: 0.5}]
      fa: [پول]
      en: [refund]
    negative: {tr: [vergi], en: [tax]}
"#);
    assert_eq!(
        intent(&b, "iade"),
        "none",
        "half the evidence is not enough"
    );
    assert_eq!(intent(&b, "paramın iadesi"), "refund");
    assert_eq!(intent(&b, "vergi iadesi param"), "none");
    assert_eq!(intent(&b, "tax refund"), "none");
}

#[test]
fn priority_then_first_request_then_a_question() {
    let b = bot(r#"
intents:
  - id: broken
    priority: 2
    answer: ok
    keywords: {tr: [kırık], fa: [شکسته], en: [broken]}
  - id: thanks
    priority: -1
    answer: ok
    keywords: {tr: [teşekkür], fa: [ممنون], en: [thanks]}
  - id: bye
    priority: -1
    answer: ok
    keywords: {tr: [görüşürüz], fa: [خداحافظ], en: [bye]}
  - id: track
    label: {tr: Takip, fa: رهگیری, en: Tracking}
    answer: ok
    keywords: {tr: [takip], fa: [رهگیری], en: [where is]}
  - id: returns
    label: {tr: İade, fa: مرجوعی, en: Returns}
    answer: ok
    keywords: {tr: [iade], fa: [مرجوع], en: [where is]}
"#);
    assert_eq!(intent(&b, "thanks, my cup is broken"), "broken");
    assert_eq!(intent(&b, "thanks and bye"), "thanks");
    assert_eq!(intent(&b, "bye, thanks"), "bye");
    assert_eq!(intent(&b, "where is it"), "track|returns");
}

#[test]
fn a_question_offers_both_intents_as_buttons_and_a_press_answers() {
    let b = bot(r#"
intents:
  - id: track
    label: {tr: Takip, fa: رهگیری, en: Tracking}
    answer: ok
    keywords: {tr: [takip], fa: [رهگیری], en: [where is]}
  - id: returns
    label: {tr: İade, fa: مرجوعی, en: Returns}
    answer: ok
    keywords: {tr: [iade], fa: [مرجوع], en: [where is]}
"#);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let orders = InMemoryOrders::demo(today_utc());
    let limiter = VerifyLimiter::default();
    let mut conv = Conversation::default();
    let input = Input::text("where is it").with_lang(Some(destek::Lang::En));
    let out = rt.block_on(engine::turn(&b, &mut conv, &input, &orders, &limiter));
    assert_eq!(out.replies[0].text, "Which one: Tracking or Returns?");
    let payloads: Vec<&str> = out.replies[0]
        .buttons
        .iter()
        .map(|b| b.payload.as_str())
        .collect();
    assert_eq!(payloads, ["intent:track", "intent:returns"]);
    let out = rt.block_on(engine::turn(
        &b,
        &mut conv,
        &Input::payload("intent:returns"),
        &orders,
        &limiter,
    ));
    assert_eq!(out.intent.as_deref(), Some("returns"));
    assert_eq!(out.replies[0].text, "ok");
}
