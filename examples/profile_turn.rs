//! One full turn, many times, for a profiler: `cargo build --release --example profile_turn`
//! then `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*run_turns*'
//! target/release/examples/profile_turn`. Compiling the pack is left out of the profile.

use destek::dialogue::{Conversation, Input};
use destek::engine::{self, VerifyLimiter};
use destek::orders::{InMemoryOrders, today_utc};
use destek::{Bot, pack};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// The in-memory backend answers at once: one poll finishes a turn.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[inline(never)]
fn run_turns(bot: &Bot, orders: &InMemoryOrders, limiter: &VerifyLimiter, n: usize) -> usize {
    let messages = [
        "hello",
        "SİPARİŞİM NEREDE? SİPARİŞ NO 48213977",
        "ayse.yilmaz@example.com",
        "سفارشم کجاست؟",
        "how much is shipping",
    ];
    let mut replies = 0;
    for i in 0..n {
        let mut conv = Conversation::default();
        for m in &messages[..2 + i % 3] {
            let out = ready(engine::turn(
                bot,
                &mut conv,
                &Input::text(*m),
                orders,
                limiter,
            ));
            replies += out.replies.len();
        }
    }
    replies
}

fn main() {
    let Some(bot) = pack::compile(&pack::embedded(), &pack::Options::default()).bot else {
        eprintln!("the embedded pack does not compile");
        return;
    };
    let orders = InMemoryOrders::demo(today_utc());
    let limiter = VerifyLimiter::default();
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    println!("{} replies", run_turns(&bot, &orders, &limiter, n));
}
