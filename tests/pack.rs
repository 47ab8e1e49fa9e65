//! The default pack: it compiles cleanly, every intent example and every conversation
//! test passes, and the copy embedded in the binary is the one in the repository.

use destek::Bot;
use destek::convtest::{self, Report};
use destek::pack::{self, Severity};
use std::path::Path;

fn repo_pack() -> Vec<pack::Source> {
    pack::read_dirs(&[Path::new("intents"), Path::new("flows")]).expect("pack directories")
}

fn bot() -> Bot {
    let compiled = pack::compile(&repo_pack(), &pack::Options::default());
    let errors: Vec<String> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
    assert!(
        errors.is_empty(),
        "the default pack has errors:\n{}",
        errors.join("\n")
    );
    compiled.bot.expect("a bot when there are no errors")
}

#[test]
fn default_pack_has_no_warnings() {
    let compiled = pack::compile(&repo_pack(), &pack::Options::default());
    let all: Vec<String> = compiled
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(all.is_empty(), "diagnostics:\n{}", all.join("\n"));
}

#[test]
fn every_intent_example_matches_its_intent() {
    let bot = bot();
    let mut report = Report::default();
    convtest::check_examples(&bot, &mut report);
    let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    assert!(report.passed > 0, "the pack has no examples");
    assert!(failures.is_empty(), "{}", failures.concat());
}

#[test]
fn every_conversation_test_passes() {
    let bot = bot();
    let sources =
        pack::read_dirs(&[Path::new("tests/conversations")]).expect("tests/conversations");
    assert!(!sources.is_empty());
    let mut report = Report::default();
    for s in &sources {
        convtest::run_file(&bot, s, &mut report);
    }
    let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    assert!(failures.is_empty(), "{}", failures.concat());
    assert!(report.passed >= sources.len());
}

#[test]
fn embedded_pack_is_the_repository_pack() {
    let on_disk: Vec<(String, String)> = repo_pack()
        .into_iter()
        .map(|s| (s.path.replace('\\', "/"), s.text))
        .collect();
    let embedded: Vec<(String, String)> = pack::embedded()
        .into_iter()
        .map(|s| (s.path, s.text))
        .collect();
    assert_eq!(on_disk, embedded);
}
