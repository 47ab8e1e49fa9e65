//! `destek check`: every problem in a pack is reported at once, each at its file:line:col,
//! and a pack with errors yields no bot.

use destek::pack::{self, Source};
use std::process::Command;

/// A minimal valid pack; tests break one thing at a time.
const BASE: &str = r#"
intents:
  - id: hello
    answer: hello
    keywords: {tr: [merhaba], fa: [سلام], en: [hello]}
templates:
  hello: {tr: Merhaba, fa: سلام, en: Hello}
  fallback: {tr: a, fa: b, en: c}
  clarify: {tr: a, fa: b, en: c}
  handoff: {tr: a, fa: b, en: c}
  handoff_waiting: {tr: a, fa: b, en: c}
  backend_down: {tr: a, fa: b, en: c}
  flow_restart: {tr: a, fa: b, en: c}
  resume_ask: {tr: a, fa: b, en: c}
  message_too_long: {tr: a, fa: b, en: c}
  not_text: {tr: a, fa: b, en: c}
"#;

fn src(path: &str, text: &str) -> Source {
    Source {
        path: path.into(),
        text: text.into(),
    }
}

fn check(files: &[Source]) -> (bool, Vec<String>) {
    let c = pack::compile(files, &pack::Options::default());
    let lines = c.diagnostics.iter().map(ToString::to_string).collect();
    (c.bot.is_some(), lines)
}

fn assert_has(lines: &[String], want: &str) {
    assert!(
        lines.iter().any(|l| l.contains(want)),
        "expected a diagnostic containing {want:?}, got:\n{}",
        lines.join("\n")
    );
}

#[test]
fn a_valid_pack_compiles() {
    let (ok, lines) = check(&[src("intents/base.yaml", BASE)]);
    assert!(ok, "{lines:?}");
    assert!(lines.is_empty(), "{lines:?}");
}

#[test]
fn a_syntax_error_names_file_line_and_column() {
    let (ok, lines) = check(&[
        src("intents/base.yaml", BASE),
        src("flows/broken.yaml", "flows:\n  - id: x\n    steps: [\n"),
    ]);
    assert!(!ok);
    assert_has(&lines, "flows/broken.yaml:3:12: error:");
}

#[test]
fn unknown_keys_and_wrong_types_are_errors_at_their_place() {
    let (_, lines) = check(&[src(
        "intents/a.yaml",
        "intents:\n  - id: a\n    answr: hello\n",
    )]);
    assert_has(&lines, "intents/a.yaml:3:5: error: unknown field `answr`");
    let (_, lines) = check(&[src(
        "intents/a.yaml",
        "intents:\n  - id: a\n    priority: high\n",
    )]);
    assert_has(&lines, "intents/a.yaml:3:15: error:");
}

#[test]
fn every_semantic_error_is_reported_at_once() {
    let bad = r#"
intents:
  - id: hello
    answer: hello
  - id: lost
    flow: nowhere
  - id: pats
    answer: hello
    patterns: [{regex: "([a-z"}]
flows:
  - id: f
    steps:
      - ask: order_number
        prompt: no_such_template
      - verify: order_number
        prompt: hello
        next: missing_step
      - lookup: email
templates:
  half: {tr: yarım, en: half}
  vars: {tr: "{order.colour}", fa: "{order_number}", en: "{order.status"}
"#;
    let (ok, lines) = check(&[src("intents/base.yaml", BASE), src("flows/bad.yaml", bad)]);
    assert!(!ok);
    assert_has(
        &lines,
        "flows/bad.yaml:3:9: error: duplicate intent `hello` (first defined at intents/base.yaml:3:9)",
    );
    assert_has(&lines, "flows/bad.yaml:6:11: error: no flow `nowhere`");
    assert_has(
        &lines,
        "flows/bad.yaml:9:24: error: regex does not compile: unclosed character class",
    );
    assert_has(
        &lines,
        "flows/bad.yaml:14:17: error: no template `no_such_template`",
    );
    assert_has(
        &lines,
        "flows/bad.yaml:17:15: error: flow `f` has no step `missing_step`",
    );
    assert_has(
        &lines,
        "flows/bad.yaml:18:17: error: slot `email` is not asked for",
    );
    assert_has(&lines, "error: template `half` has no `fa` translation");
    assert_has(
        &lines,
        "error: template `vars` uses unknown variable `{order.colour}`",
    );
    assert_has(&lines, "error: template `vars`: unclosed `{`");
    let errors = lines.iter().filter(|l| l.contains(": error: ")).count();
    assert!(errors >= 9, "{}", lines.join("\n"));
}

#[test]
fn a_lookup_before_verification_is_refused() {
    let flow = r#"
flows:
  - id: leak
    steps:
      - ask: order_number
        prompt: hello
      - lookup: order_number
"#;
    let (ok, lines) = check(&[src("intents/base.yaml", BASE), src("flows/leak.yaml", flow)]);
    assert!(!ok);
    assert_has(&lines, "must come after `verify: order_number`");
}

#[test]
fn overlapping_keywords_and_unreachable_steps_are_warnings() {
    let more = r#"
intents:
  - id: hi_again
    answer: hello
    keywords: {tr: [Merhaba], fa: [درود], en: [hey]}
flows:
  - id: f
    steps:
      - say: hello
        end: true
      - id: orphan
        say: hello
"#;
    let (ok, lines) = check(&[
        src("intents/base.yaml", BASE),
        src("intents/more.yaml", more),
    ]);
    assert!(ok, "warnings do not stop the pack: {lines:?}");
    assert_has(
        &lines,
        "intents/more.yaml:5:21: warning: keyword `merhaba` is also a keyword of intent `hello`",
    );
    assert_has(&lines, "warning: step `orphan` of flow `f` is unreachable");
}

#[test]
fn a_missing_system_template_is_an_error() {
    let text = BASE.replace("  resume_ask: {tr: a, fa: b, en: c}\n", "");
    let (ok, lines) = check(&[src("intents/base.yaml", &text)]);
    assert!(!ok);
    assert_has(&lines, "the pack must define template `resume_ask`");
}

#[test]
fn the_check_command_prints_locations_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("destek-check-{}", std::process::id()));
    let intents = dir.join("intents");
    std::fs::create_dir_all(&intents).expect("temp dir");
    std::fs::write(intents.join("base.yaml"), BASE).expect("write");
    std::fs::write(
        intents.join("typo.yaml"),
        "intents:\n  - id: x\n    keywrods: {}\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_destek"))
        .arg("check")
        .env("DESTEK_INTENTS_DIR", &intents)
        .env("DESTEK_FLOWS_DIR", dir.join("flows"))
        .output()
        .expect("run destek");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("typo.yaml:3:5: error: unknown field `keywrods`"),
        "{stdout}"
    );

    std::fs::remove_file(intents.join("typo.yaml")).expect("remove");
    let out = Command::new(env!("CARGO_BIN_EXE_destek"))
        .arg("check")
        .env("DESTEK_INTENTS_DIR", &intents)
        .env("DESTEK_FLOWS_DIR", dir.join("flows"))
        .output()
        .expect("run destek");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_pattern_with_a_unicode_word_boundary_is_a_warning() {
    let more = r#"
intents:
  - id: slow
    answer: hello
    keywords: {tr: [yavas], fa: [کند], en: [slow]}
    patterns:
      - {regex: "(?i)\\bslow\\b"}
      - {regex: "(?i)(?-u:\\b)fast(?-u:\\b)"}
"#;
    let (ok, lines) = check(&[
        src("intents/base.yaml", BASE),
        src("intents/more.yaml", more),
    ]);
    assert!(ok, "{lines:?}");
    assert_has(
        &lines,
        "intents/more.yaml:7:17: warning: pattern uses a Unicode `\\b`",
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains("Unicode `\\b`")).count(),
        1,
        "{lines:?}"
    );
}
