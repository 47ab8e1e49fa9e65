//! Hot reload of the pack: on a change in `intents/` or `flows/` (polled, debounced, so
//! editors that replace files are fine), on SIGHUP, or on `POST /admin/reload`. The new
//! pack is compiled first; only a pack without errors replaces the running snapshot, and
//! every error is logged as `file:line:col`. Conversations in a flow carry on: they refer
//! to flows and steps by id.

use super::AppState;
use crate::pack::{self, Diagnostic, Severity};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Where the pack is read from on reload, and what it is compiled against.
#[derive(Clone, Debug)]
pub struct PackSource {
    pub intents_dir: PathBuf,
    pub flows_dir: PathBuf,
    pub options: pack::Options,
}

/// What a reload did.
#[derive(Debug)]
pub enum Reloaded {
    /// The new pack runs; its warnings, if any.
    Swapped {
        intents: usize,
        warnings: Vec<Diagnostic>,
    },
    /// The pack has errors; the old one keeps running.
    Refused(Vec<Diagnostic>),
}

/// Compiles the pack from its directories and swaps it in when it has no errors.
pub fn reload(state: &AppState, source: &PackSource) -> Result<Reloaded, String> {
    let (sources, from) = pack::locate(&source.intents_dir, &source.flows_dir)
        .map_err(|e| format!("reading the pack: {e}"))?;
    let compiled = pack::compile(&sources, &source.options);
    match compiled.bot {
        Some(bot) => {
            let intents = bot.intents.len();
            state.replace_bot(bot);
            crate::logging::info(format!("reloaded {from}: {intents} intents"));
            for d in &compiled.diagnostics {
                crate::logging::warn(d);
            }
            Ok(Reloaded::Swapped {
                intents,
                warnings: compiled.diagnostics,
            })
        }
        None => {
            crate::logging::error(format!(
                "the pack in {from} has errors; still running the previous one"
            ));
            for d in compiled
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
            {
                crate::logging::error(d);
            }
            Ok(Reloaded::Refused(compiled.diagnostics))
        }
    }
}

/// Reloads one at a time: two reloads racing (the watcher and a SIGHUP) could otherwise
/// swap in the older directories' pack last.
static RELOADING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `reload` on a blocking thread, one reload at a time. Compiling takes from a fraction of
/// a second (the default pack) to seconds (thousands of intents); on a runtime worker it
/// would hold up every turn queued there for as long, while here the old pack answers them
/// until the new one is swapped in.
pub async fn reload_off_runtime(state: AppState, source: PackSource) -> Result<Reloaded, String> {
    tokio::task::spawn_blocking(move || {
        let _one_at_a_time = RELOADING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        reload(&state, &source)
    })
    .await
    .map_err(|e| format!("the reload stopped: {e}"))?
}

/// A cheap picture of the directories: every YAML file's path, size and modification time.
fn fingerprint(source: &PackSource) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut out = Vec::new();
    for dir in [&source.intents_dir, &source.flows_dir] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if !matches!(
                path.extension().and_then(|x| x.to_str()),
                Some("yaml" | "yml")
            ) {
                continue;
            }
            let meta = e.metadata().ok();
            out.push((
                path,
                meta.as_ref().map_or(0, |m| m.len()),
                meta.and_then(|m| m.modified().ok()),
            ));
        }
    }
    out.sort();
    out
}

/// Watches the pack directories until `stop`: a change reloads once the directories have
/// been quiet for `settle` (an editor's save is several file operations). The directories
/// are read when this is called, so a change made right after counts.
pub fn watch(
    state: AppState,
    source: PackSource,
    interval: Duration,
    settle: Duration,
    stop: impl std::future::Future<Output = ()>,
) -> impl std::future::Future<Output = ()> {
    let current = fingerprint(&source);
    watch_from(state, source, interval, settle, stop, current)
}

async fn watch_from(
    state: AppState,
    source: PackSource,
    interval: Duration,
    settle: Duration,
    stop: impl std::future::Future<Output = ()>,
    mut current: Vec<(PathBuf, u64, Option<SystemTime>)>,
) {
    let mut stop = std::pin::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(interval) => {}
        }
        let seen = fingerprint(&source);
        if seen == current {
            continue;
        }
        // Wait until the directories stop changing.
        let mut last = seen;
        loop {
            tokio::time::sleep(settle).await;
            let now = fingerprint(&source);
            if now == last {
                break;
            }
            last = now;
        }
        current = last;
        if let Err(e) = reload_off_runtime(state.clone(), source.clone()).await {
            crate::logging::error(e);
        }
    }
}
