//! The templates every pack must define, with placeholder text: test packs that are only
//! about matching compile with these beside them.

pub const SYSTEM: &str = r#"
templates:
  ok: {tr: tamam, fa: باشه, en: ok}
  fallback: {tr: a, fa: b, en: c}
  clarify: {tr: "Hangisi?", fa: "کدام؟", en: "Which one: {intent_a} or {intent_b}?"}
  handoff: {tr: a, fa: b, en: c}
  handoff_waiting: {tr: a, fa: b, en: c}
  backend_down: {tr: a, fa: b, en: c}
  flow_restart: {tr: a, fa: b, en: c}
  resume_ask: {tr: a, fa: b, en: c}
  message_too_long: {tr: a, fa: b, en: c}
  not_text: {tr: a, fa: b, en: c}
"#;
