//! Packs: the operator's YAML (`intents/`, `flows/`) read from disk or from the copy embedded
//! in the binary, and compiled into a `Bot`.
//!
//! `raw` mirrors the YAML, `compile` checks everything at once and builds the snapshot,
//! `blanks` warns of template variables that can render empty, `conversation` compiles the `conversation:` small talk, `diag` formats what it found as `file:line:col: severity: message`.

mod blanks;
pub mod compile;
mod conversation;
pub mod diag;
mod embedded;
mod intents;
pub mod raw;

pub use compile::{Compiled, Options, compile};
pub use diag::{Diagnostic, Severity};

use std::io;
use std::path::{Path, PathBuf};

/// One YAML file of a pack.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as shown in diagnostics, e.g. `intents/order_status.yaml`.
    pub path: String,
    pub text: String,
}

/// Reads every `*.yaml` / `*.yml` file of the given directories, sorted by name so
/// diagnostics and keyword order are stable.
pub fn read_dirs(dirs: &[&Path]) -> io::Result<Vec<Source>> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        let mut here: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
            })
            .collect();
        here.sort();
        paths.extend(here);
    }
    paths
        .into_iter()
        .map(|p| {
            let text = crate::textfile::read(&p)?;
            Ok(Source {
                path: p.display().to_string(),
                text,
            })
        })
        .collect()
}

/// The default pack as embedded in the binary at build time.
pub fn embedded() -> Vec<Source> {
    embedded::FILES
        .iter()
        .map(|(path, text)| Source {
            path: (*path).to_owned(),
            text: (*text).to_owned(),
        })
        .collect()
}

/// The pack in `intents_dir` and `flows_dir` when they exist, else the embedded default.
/// Returns the sources and a description of where they came from.
pub fn locate(intents_dir: &Path, flows_dir: &Path) -> io::Result<(Vec<Source>, String)> {
    if intents_dir.is_dir() || flows_dir.is_dir() {
        let dirs: Vec<&Path> = [intents_dir, flows_dir]
            .into_iter()
            .filter(|d| d.is_dir())
            .collect();
        let sources = read_dirs(&dirs)?;
        let from = dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(" and ");
        Ok((sources, from))
    } else {
        Ok((embedded(), "the embedded default pack".to_owned()))
    }
}
