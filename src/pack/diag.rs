//! Diagnostics: every problem `check` finds, as `file:line:col: severity: message`.

use serde_saphyr::Location;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: u64,
    pub col: u64,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.col, sev, self.message
        )
    }
}

/// Collects diagnostics while a pack compiles.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn error(&mut self, file: &str, at: Location, message: impl Into<String>) {
        self.push(file, at, Severity::Error, message.into());
    }

    pub fn warn(&mut self, file: &str, at: Location, message: impl Into<String>) {
        self.push(file, at, Severity::Warning, message.into());
    }

    fn push(&mut self, file: &str, at: Location, severity: Severity, message: String) {
        self.items.push(Diagnostic {
            file: file.to_owned(),
            line: at.line().max(1),
            col: at.column().max(1),
            severity,
            message,
        });
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.severity == Severity::Error)
    }

    /// Errors first, then by file and position, so output is stable.
    pub fn sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| {
            (a.severity, &a.file, a.line, a.col).cmp(&(b.severity, &b.file, b.line, b.col))
        });
        self.items
    }
}

/// The parser's message without its "error: line L column C:" prefix and source snippet:
/// the location is printed by `Diagnostic` itself.
pub fn yaml_message(err: &serde_saphyr::Error) -> String {
    let rendered = err.to_string();
    let first = rendered.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match first.strip_prefix("line ") {
        Some(rest) => match rest.split_once(": ") {
            Some((pos, msg)) if pos.contains(" column ") => msg.to_owned(),
            _ => first.to_owned(),
        },
        None => first.to_owned(),
    }
}
