//! One customer turn on the server, shared by the HTTP and WebSocket endpoints.

use super::error::ApiError;
use super::{AppState, auth};
use crate::dialogue::Conversation;
use crate::dialogue::{Input, Outcome};
use crate::engine;
use crate::handoff;
use crate::store::TurnGuard;
use crate::store::{Change, Message, OutboxEntry, Sender, now_rfc3339};
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};
use tracing::Instrument;

/// Serialises the turns of each conversation: 1,024 slots chosen by hashing the id, so two
/// turns of one conversation never interleave while memory stays bounded (two busy
/// conversations rarely share a slot, and then only wait for each other briefly).
pub(super) struct ConversationLocks {
    slots: Vec<Arc<Mutex<()>>>,
}

impl Default for ConversationLocks {
    fn default() -> Self {
        ConversationLocks {
            slots: (0..1024).map(|_| Arc::new(Mutex::new(()))).collect(),
        }
    }
}

impl ConversationLocks {
    fn slot(&self, id: &str) -> Arc<Mutex<()>> {
        let h = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Arc::clone(&self.slots[(h % self.slots.len() as u64) as usize])
    }
}

/// A conversation held for writing: its in-process lock and, for a store shared by
/// replicas, its cross-process lock. Every write of a conversation's state (a customer
/// turn, an agent's message, a resolve) holds one, so none overwrites another.
pub struct Held {
    // Dropped in this order: the store's lock first, then the in-process one.
    _across_replicas: TurnGuard,
    _here: OwnedMutexGuard<()>,
}

/// Waits for the conversation to be free, then holds it until the `Held` is dropped.
pub async fn hold(state: &AppState, id: &str) -> Result<Held, ApiError> {
    let shared = state.shared();
    let here = shared.locks.slot(id).lock_owned().await;
    let across_replicas = shared.store.lock_conversation(id).await?;
    Ok(Held {
        _across_replicas: across_replicas,
        _here: here,
    })
}

/// Who is asking for the turn.
pub enum Caller<'a> {
    /// A browser or API client: must present the conversation's bearer token; `ip` is the
    /// client's address (failed verifications are counted against it too).
    Token { token: Option<&'a str>, ip: &'a str },
    /// A channel adapter that authenticated its own source (Telegram's secret token,
    /// long polling of the Bot API).
    Trusted,
}

/// What the customer sent.
pub enum Said {
    Text(String),
    /// A button's payload, and the label the customer saw (kept in the transcript).
    Button(String, Option<String>),
    /// Something that is not text (a photo, a voice note), described for the transcript so
    /// a person sees it on handoff; the bot answers with the pack's `not_text`.
    Media(String),
}

/// Runs one turn: authenticate, run the engine, commit the customer's message with the
/// replies and the new state (the message alone first if the turn acts at the shop), and
/// tell live sockets.
pub async fn run(
    state: &AppState,
    id: &str,
    caller: Caller<'_>,
    said: Said,
) -> Result<Outcome, ApiError> {
    run_once(state, id, caller, said, None)
        .await?
        .ok_or_else(|| ApiError::internal("a message without a client id taken as a repeat"))
}

/// How many client message ids a conversation remembers.
const CLIENT_IDS_KEPT: usize = 32;

/// `run`, for a message the client numbered (`client_id`): a message whose id the
/// conversation has already taken is not taken again, and `None` is returned.
pub async fn run_once(
    state: &AppState,
    id: &str,
    caller: Caller<'_>,
    said: Said,
    client_id: Option<String>,
) -> Result<Option<Outcome>, ApiError> {
    // Every event of the turn carries these; a `debug` event ends it with the rest.
    let span = tracing::info_span!(
        "turn",
        conversation = %id,
        channel = tracing::field::Empty,
        intent = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    run_in_span(state, id, caller, said, client_id)
        .instrument(span)
        .await
}

async fn run_in_span(
    state: &AppState,
    id: &str,
    caller: Caller<'_>,
    said: Said,
    client_id: Option<String>,
) -> Result<Option<Outcome>, ApiError> {
    let shared = state.shared();
    let started = std::time::Instant::now();
    // The token is checked before the conversation's limit is charged: a stranger who
    // knows the id cannot use up its owner's messages. A token never changes, so the check
    // needs no lock.
    let ip = match caller {
        Caller::Token { ip, .. } => Some(ip),
        Caller::Trusted => None,
    };
    if let Caller::Token { token, .. } = caller {
        let token_hash = shared
            .store
            .token_hash(id)
            .await?
            .ok_or_else(|| ApiError::not_found("no such conversation"))?;
        if !auth::token_matches(token, &token_hash) {
            return Err(ApiError::unauthorized());
        }
    }
    if !shared.rate.allow_conversation(id) {
        return Err(ApiError::rate_limited());
    }
    let _held = hold(state, id).await?;
    let mut stored = shared
        .store
        .load(id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such conversation"))?;
    if let Some(c) = client_id {
        if stored.state.client_ids.contains(&c) {
            return Ok(None);
        }
        let ids = &mut stored.state.client_ids;
        ids.push(c);
        let over = ids.len().saturating_sub(CLIENT_IDS_KEPT);
        ids.drain(..over);
    }
    let span = tracing::Span::current();
    span.record("channel", stored.channel.as_str());
    let (text, input) = match said {
        Said::Text(t) => (t.clone(), Input::text(t)),
        Said::Media(description) => (description, Input::default()),
        Said::Button(p, label) => {
            let shown = label
                .map(|l| l.trim().chars().take(200).collect::<String>())
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| format!("[{p}]"));
            (shown, Input::payload(p))
        }
    };
    let mut input = input.with_lang(stored.lang_hint);
    // Business hours, and whether anyone can receive a handoff right now.
    input.availability = Some(super::inbox_live::availability(state).await);
    let inbound = Message {
        from: Sender::Customer,
        text,
        buttons: Vec::new(),
        agent: None,
        at: now_rfc3339(),
    };
    // Stored before anything of the turn is acknowledged (`message_first`): with the
    // replies, or on its own before an action at the shop. (With its client id, so it is
    // not taken twice.)
    let numbered = !stored.state.client_ids.is_empty();
    let first = super::message_first::MessageFirst::new(
        shared.orders.as_ref(),
        shared.store.as_ref(),
        id,
        Change {
            messages: vec![inbound.clone()],
            state: numbered.then(|| stored.state.clone()),
            outbox: Vec::new(),
        },
    );

    let bot = state.bot();
    let mut conv = stored.state;
    let gate = super::verify::StoreGate::new(std::sync::Arc::clone(&shared.store), id, ip);
    // A reply to a proactive notice is counted; "stop" after one turns notices off.
    let (opted_out, answered) = crate::notices::optout::before_turn(&bot, &mut conv, &input);
    if answered {
        shared.metrics.notices.reply();
    }
    let mut outcome = match opted_out {
        Some(o) => o,
        None => engine::turn(&bot, &mut conv, &input, &first, &gate).await,
    };
    let left = first.finish();
    if let Some(e) = left.failed {
        // The customer's message could not be stored, so no action was taken: nothing of
        // this turn is acknowledged.
        return Err(e.into());
    }
    super::welcome::follow_up(&bot, &conv, &mut outcome);
    let at = now_rfc3339();
    let replies: Vec<Message> = outcome
        .replies
        .iter()
        .map(|r| Message::from_bot(r, &at))
        .collect();
    if outcome.handoff.is_some() && conv.assigned_agent.is_none() {
        // A returning customer goes to the agent who helped them last, if they are in.
        conv.assigned_agent = super::inbox::follow_up(state, &conv).await;
    }
    let rated_agent = conv.helped_by.clone();
    // What this turn adds to the transcript: the customer's message, unless an action
    // stored it already, then the replies.
    let mut messages = left.pending.map(|c| c.messages).unwrap_or_default();
    messages.extend(replies);
    let outbox = handoff_events(
        state,
        id,
        &stored.channel,
        &mut conv,
        &mut outcome,
        &inbound,
        &messages,
    )
    .await?;
    let handoffs_so_far = conv.handoffs;
    shared
        .store
        .commit(
            id,
            Change {
                messages,
                state: Some(conv),
                outbox,
            },
        )
        .await?;
    let latency = started.elapsed();
    span.record("intent", outcome.intent.as_deref().unwrap_or("none"));
    // Whole microseconds: a short number in every log line.
    span.record("latency_ms", latency.as_micros() as f64 / 1000.0);
    tracing::debug!("turn");
    let m = &shared.metrics;
    m.turn(
        &stored.channel,
        outcome.lang.code(),
        outcome.intent.as_deref(),
        outcome.fallback,
        latency,
    );
    if let Some(h) = &outcome.handoff {
        m.handoff(&h.reason);
    }
    if let Some(r) = outcome.rating {
        m.rating(r);
        if let Some(agent) = &rated_agent {
            shared.inbox.metrics.rating(agent, r);
        }
    }
    // Open inboxes hear of a new handoff and of every message while one is open.
    if outcome.handoff.is_some() || outcome.relayed {
        let handoff_id = outcome
            .handoff
            .as_ref()
            .map(|h| h.id.clone())
            .unwrap_or_else(|| format!("{id}.{}", handoffs_so_far));
        super::live_bridge::publish(
            state,
            serde_json::json!({
                "type": if outcome.handoff.is_some() { "handoff.created" } else { "handoff.message" },
                "handoff_id": handoff_id,
                "conversation_id": id,
                "from": "customer",
            }),
        );
    }
    Ok(Some(outcome))
}

/// The webhook events of this turn: a new handoff (with the transcript so far), a message
/// for the person who has the conversation, or a rating of their help. Written in the same
/// transaction as the turn, so none is lost; `unstored` is what the turn adds to the
/// transcript in that transaction.
async fn handoff_events(
    state: &AppState,
    id: &str,
    channel: &str,
    conv: &mut Conversation,
    outcome: &mut Outcome,
    inbound: &Message,
    unstored: &[Message],
) -> Result<Vec<OutboxEntry>, ApiError> {
    if outcome.handoff.is_some() {
        conv.handoffs += 1;
        let handoff_id = format!("{id}.{}", conv.handoffs);
        if let Some(h) = conv.handoff.as_mut() {
            h.id = handoff_id.clone();
        }
        if let Some(h) = outcome.handoff.as_mut() {
            h.id = handoff_id;
        }
    }
    if state.shared().settings.webhook.is_none() {
        return Ok(Vec::new());
    }
    let lang = conv.lang.map(|l| l.code());
    let previous_agent = conv.last_agent.clone();
    let cx = |h, previous_agent| handoff::Context {
        conversation_id: id,
        channel,
        lang,
        handoff: h,
        previous_agent,
    };
    let mut events = Vec::new();
    if let Some(h) = &outcome.handoff {
        let mut transcript = state.shared().store.transcript(id).await?;
        // Committed with this event, after it is made.
        transcript.extend_from_slice(unstored);
        super::attachments::sign_paths(state, id, &mut transcript);
        let c = cx(h, previous_agent.as_deref());
        events.push(handoff::event("handoff.created", &c, &transcript, None));
    } else if outcome.relayed {
        if let Some(h) = &conv.handoff {
            let c = cx(h, None);
            let mut said = inbound.clone();
            super::attachments::sign_paths(state, id, std::slice::from_mut(&mut said));
            events.push(handoff::event(
                "handoff.message",
                &c,
                std::slice::from_ref(&said),
                None,
            ));
        }
    } else if let Some(r) = outcome.rating {
        let last = crate::dialogue::Handoff {
            id: format!("{id}.{}", conv.handoffs),
            reason: "rating".into(),
            intent: None,
            order_id: None,
            summary: String::new(),
        };
        let c = cx(&last, previous_agent.as_deref());
        events.push(handoff::event("handoff.rated", &c, &[], Some(r)));
    }
    Ok(events)
}
