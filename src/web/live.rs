//! Open WebSockets: one broadcast channel per conversation with a socket open, so an
//! agent's reply reaches the customer at once, and the counts that bound them (per
//! conversation, per client IP, in all). A socket's entry goes when the socket does.

use super::AppState;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::broadcast;

/// Bounds on open sockets; 0 turns a bound off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketLimits {
    pub per_conversation: u32,
    pub per_ip: u32,
    pub total: u32,
    /// A socket with nothing from the client this long is closed (pings are sent at a
    /// third of it, and a browser's automatic pong counts).
    pub idle: Duration,
}

impl Default for SocketLimits {
    fn default() -> Self {
        SocketLimits {
            per_conversation: 8,
            per_ip: 32,
            total: 10_000,
            idle: Duration::from_secs(300),
        }
    }
}

#[derive(Default)]
pub struct Live {
    // A std Mutex: map updates only, never held across an await.
    maps: Mutex<Maps>,
}

#[derive(Default)]
struct Maps {
    /// Per conversation: its channel and how many sockets use it.
    channels: HashMap<String, (broadcast::Sender<String>, u32)>,
    per_ip: HashMap<String, u32>,
    total: u32,
}

/// Why a socket was not opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    Conversation,
    Ip,
    Server,
}

/// Open sockets right now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    pub sockets: u32,
    pub conversations: usize,
    pub ips: usize,
}

/// A socket's place: its events, and its share of the counts until dropped.
pub struct Joined {
    state: AppState,
    id: String,
    ip: String,
    pub events: broadcast::Receiver<String>,
}

impl Drop for Joined {
    fn drop(&mut self) {
        self.state.shared().live.leave(&self.id, &self.ip);
    }
}

fn over(n: u32, limit: u32) -> bool {
    limit != 0 && n >= limit
}

impl Live {
    /// Takes a place for a socket of conversation `id` from `ip`, within the limits.
    pub fn join(state: &AppState, id: &str, ip: &str) -> Result<Joined, Refused> {
        let shared = state.shared();
        let limits = shared.settings.sockets;
        let Ok(mut m) = shared.live.maps.lock() else {
            return Err(Refused::Server);
        };
        if over(m.total, limits.total) {
            return Err(Refused::Server);
        }
        if over(m.per_ip.get(ip).copied().unwrap_or(0), limits.per_ip) {
            return Err(Refused::Ip);
        }
        if over(
            m.channels.get(id).map_or(0, |c| c.1),
            limits.per_conversation,
        ) {
            return Err(Refused::Conversation);
        }
        m.total += 1;
        *m.per_ip.entry(ip.to_owned()).or_default() += 1;
        let (tx, n) = m
            .channels
            .entry(id.to_owned())
            .or_insert_with(|| (broadcast::channel(64).0, 0));
        *n += 1;
        let events = tx.subscribe();
        Ok(Joined {
            state: state.clone(),
            id: id.to_owned(),
            ip: ip.to_owned(),
            events,
        })
    }

    fn leave(&self, id: &str, ip: &str) {
        let Ok(mut m) = self.maps.lock() else {
            return;
        };
        m.total = m.total.saturating_sub(1);
        if let Some(n) = m.per_ip.get_mut(ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.per_ip.remove(ip);
            }
        }
        if let Some((_, n)) = m.channels.get_mut(id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.channels.remove(id);
            }
        }
    }

    /// Sends an event to every open socket of the conversation; returns whether any got it.
    pub fn send(&self, id: &str, event: String) -> bool {
        let Ok(m) = self.maps.lock() else {
            return false;
        };
        m.channels
            .get(id)
            .is_some_and(|(tx, _)| tx.send(event).is_ok())
    }

    pub fn stats(&self) -> LiveStats {
        match self.maps.lock() {
            Ok(m) => LiveStats {
                sockets: m.total,
                conversations: m.channels.len(),
                ips: m.per_ip.len(),
            },
            Err(_) => LiveStats::default(),
        }
    }
}
