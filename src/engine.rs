//! The driver: runs a dialogue `Turn` to completion, calling the order backend whenever
//! the turn asks for it. The only place where the pure engine meets I/O.

use crate::bot::Bot;
use crate::dialogue::{Conversation, Input, Outcome, Poll, Request, Response, Turn};
use crate::matcher::Classification;
use crate::normalise::{Normalised, normalise};
use crate::orders::OrderBackend;

pub use crate::throttle::{Policy, VerifyGate, VerifyLimiter};

/// One customer message through the whole engine: normalise, match, dialogue, backend.
/// `gate` says when a verification must not be checked (too many failures, see
/// `throttle`) and hears of every failed one.
pub async fn turn(
    bot: &Bot,
    conv: &mut Conversation,
    input: &Input,
    backend: &dyn OrderBackend,
    gate: &dyn VerifyGate,
) -> Outcome {
    let mut unchecked = Vec::new();
    let mut input = input.clone();
    if input.today.is_none() {
        input.today = Some(crate::orders::today_utc());
    }
    let mut t = Turn::new(bot, conv, &input);
    let outcome = loop {
        match t.poll() {
            Poll::Done => break t.finish(),
            Poll::Need(request) => {
                let response = match request {
                    Request::Verify(id) => {
                        if gate.throttled().await.is_some() {
                            // Answered like a failure, saying nothing about the order.
                            unchecked.push(id);
                            Response::Order(Ok(None))
                        } else {
                            Response::Order(backend.order(&id).await)
                        }
                    }
                    Request::Order(id) => Response::Order(backend.order(&id).await),
                    Request::Cancel(id) => Response::Done(backend.cancel(&id).await),
                    Request::StartReturn {
                        order_id,
                        items,
                        reason,
                    } => Response::Return(backend.start_return(&order_id, items, reason).await),
                    Request::ChangeAddress { order_id, address } => {
                        Response::Done(backend.change_address(&order_id, address).await)
                    }
                    Request::OrdersByContact(contact) => {
                        Response::Orders(backend.orders_by_contact(contact).await)
                    }
                    Request::SendCode(contact) => Response::Sent(backend.send_code(contact).await),
                    Request::CheckCode { contact, code } => {
                        if gate.throttled().await.is_some() {
                            // Answered like a wrong code, whatever the code.
                            Response::Orders(Ok(Vec::new()))
                        } else {
                            Response::Orders(backend.check_code(contact, code).await)
                        }
                    }
                };
                t.feed(response);
            }
        }
    };
    for id in &outcome.failed_verifications {
        if !unchecked.contains(id) {
            gate.failed().await;
        }
    }
    outcome
}

/// Normalises and classifies a message without touching any conversation (`explain`, `eval`).
pub fn classify(bot: &Bot, text: &str) -> (Normalised, Classification) {
    let n = normalise(text);
    let order_number = bot
        .entities
        .extract(&n, None)
        .iter()
        .any(|e| e.kind == crate::entities::EntityKind::OrderNumber);
    let c = bot.matcher.classify(&n, order_number);
    (n, c)
}
