//! Live events across replicas: `NOTIFY destek_live` to send, one `LISTEN` connection per
//! process to receive (reconnected with a growing pause if it drops), so an agent's reply
//! reaches a customer whose WebSocket is open on another replica, and every replica's
//! inboxes hear of new handoffs.

use super::{PgStore, db, error_text};
use crate::store::StoreError;
use crate::store::agents::{LIVE_CHANNEL, MAX_BROADCAST_BYTES};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

impl PgStore {
    pub(super) async fn notify(&self, payload: &str) -> Result<(), StoreError> {
        if payload.len() > MAX_BROADCAST_BYTES {
            crate::logging::warn(format!(
                "a live event of {} bytes is too large for other replicas; its sockets see it on reload",
                payload.len()
            ));
            return Ok(());
        }
        self.exec("SELECT pg_notify($1, $2)", &[&LIVE_CHANNEL, &payload])
            .await?;
        Ok(())
    }

    pub(super) fn subscribe(&self) -> mpsc::Receiver<String> {
        let (tx, rx) = mpsc::channel(1024);
        let config = self.config.clone();
        tokio::spawn(async move {
            let mut pause = Duration::from_millis(200);
            while !tx.is_closed() {
                match listen_once(&config, &tx).await {
                    Ok(()) => return,
                    Err(e) => {
                        crate::logging::warn(format!("postgres: live events: {e}"));
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(10));
                    }
                }
            }
        });
        rx
    }
}

/// One LISTEN connection until it fails (`Err`) or nobody receives any more (`Ok`).
async fn listen_once(
    config: &tokio_postgres::Config,
    tx: &mpsc::Sender<String>,
) -> Result<(), StoreError> {
    let (client, mut connection) = config.connect(NoTls).await.map_err(db)?;
    let (note_tx, mut notes) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        loop {
            let next = std::future::poll_fn(|cx| connection.poll_message(cx)).await;
            match next {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if note_tx.send(n.payload().to_owned()).is_err() {
                        return Ok(());
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(error_text(&e)),
                None => return Err("the connection closed".to_owned()),
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {LIVE_CHANNEL}"))
        .await
        .map_err(db)?;
    while let Some(payload) = notes.recv().await {
        if tx.send(payload).await.is_err() {
            driver.abort();
            return Ok(());
        }
    }
    match driver.await {
        Ok(Err(e)) => Err(StoreError::Db(e)),
        _ => Err(StoreError::Db("the live-event connection ended".into())),
    }
}
