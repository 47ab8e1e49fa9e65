//! The `destek notices` and `destek notify FILE.csv` commands: what is waiting to be said,
//! and order events in bulk, straight into the store a running server delivers from.

use super::accept::{AcceptError, accept};
use super::batch;
use crate::config::Config;
use crate::store::notices::{Accepted, Stage};
use std::path::Path;
use std::process::ExitCode;

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn when(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

/// `destek notices [--all]`: notices not yet delivered (or all), newest first.
pub fn list(config: &Config, all: bool) -> Result<ExitCode, String> {
    runtime()?.block_on(async {
        let store = crate::server::open_store(config).await?;
        let notices = store.notices().ok_or("this store keeps no notices")?;
        let list = notices
            .notices(!all, 500)
            .await
            .map_err(|e| e.to_string())?;
        if list.is_empty() {
            println!(
                "{}",
                if all {
                    "no notices"
                } else {
                    "no pending notices"
                }
            );
        }
        for n in &list {
            let state = match n.stage {
                Stage::Pending | Stage::Written => format!(
                    "{}, next try {}{}",
                    if n.stage == Stage::Pending {
                        "pending"
                    } else {
                        "in the transcript, push pending"
                    },
                    when(n.next_attempt_at),
                    n.reason
                        .as_deref()
                        .map(|e| format!(", last error: {e}"))
                        .unwrap_or_default()
                ),
                Stage::Sent => format!("sent {}", n.sent_at.map(when).unwrap_or_default()),
                Stage::Skipped => format!("skipped: {}", n.reason.as_deref().unwrap_or("?")),
            };
            println!(
                "{}  {:<16} order {}  conversation {}  attempts {}  {state}",
                n.id, n.event, n.order_id, n.conversation_id, n.attempts
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `destek notify FILE.csv`: records every row's event (nothing if any row is invalid).
pub fn notify(config: &Config, file: &Path) -> Result<ExitCode, String> {
    let text = crate::textfile::read(file).map_err(|e| e.to_string())?;
    let path = file.display().to_string();
    let rows = match batch::parse(&path, &text) {
        Ok(rows) => rows,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            return Err(format!(
                "{path}: {} error(s); nothing was recorded",
                errors.len()
            ));
        }
    };
    runtime()?.block_on(async {
        let store = crate::server::open_store(config).await?;
        let (mut events, mut queued, mut failed) = (0usize, 0usize, 0usize);
        for row in &rows {
            let now = crate::store::now_ms();
            match accept(
                store.as_ref(),
                &config.notices,
                &row.order_id,
                &row.event,
                None,
                now,
            )
            .await
            {
                Ok(Accepted::New(n)) => {
                    events += 1;
                    queued += n;
                    println!(
                        "{path}:{}: order {} {}: {n} conversation(s) to notify",
                        row.line,
                        row.order_id,
                        row.event.event.as_str()
                    );
                }
                Ok(Accepted::Repeat(n)) => println!(
                    "{path}:{}: order {} event_id seen before ({n} notified then); skipped",
                    row.line, row.order_id
                ),
                Ok(Accepted::Conflict) | Err(AcceptError::Conflict) => {
                    failed += 1;
                    eprintln!(
                        "{path}:{}: event_id was used before for a different event of order {}",
                        row.line, row.order_id
                    );
                }
                Err(e) => return Err(format!("{path}:{}: {e}", row.line)),
            }
        }
        println!(
            "{events} new event(s), {queued} notice(s) queued; a running `destek serve` delivers them"
        );
        Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}
