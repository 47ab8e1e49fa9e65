//! The driver: runs a dialogue `Turn` to completion, calling the order backend whenever
//! the turn asks for it. The only place where the pure engine meets I/O.

use crate::bot::Bot;
use crate::dialogue::{Conversation, Input, Outcome, Poll, Request, Response, Turn};
use crate::matcher::Classification;
use crate::normalise::{Normalised, normalise};
use crate::orders::OrderBackend;

/// One customer message through the whole engine: normalise, match, dialogue, backend.
pub async fn turn(
    bot: &Bot,
    conv: &mut Conversation,
    input: &Input,
    backend: &dyn OrderBackend,
) -> Outcome {
    let mut t = Turn::new(bot, conv, input);
    loop {
        match t.poll() {
            Poll::Done => return t.finish(),
            Poll::Need(request) => {
                let response = match request {
                    Request::Order(id) => Response::Order(backend.order(&id).await),
                    Request::Cancel(id) => Response::Cancelled(backend.cancel(&id).await),
                    Request::StartReturn(id) => {
                        Response::Return(backend.start_return(&id, Vec::new(), String::new()).await)
                    }
                };
                t.feed(response);
            }
        }
    }
}

/// Normalises and classifies a message without touching any conversation (`explain`, `eval`).
pub fn classify(bot: &Bot, text: &str) -> (Normalised, Classification) {
    let n = normalise(text);
    let c = bot.matcher.classify(&n);
    (n, c)
}
