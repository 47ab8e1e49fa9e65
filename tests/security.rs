//! Order data is shown only after verification, and verification cannot be used to find
//! out which order numbers exist.

use destek::dialogue::{Conversation, Input, Outcome};
use destek::engine::{self, VerifyLimiter};
use destek::orders::{InMemoryOrders, today_utc};
use destek::{Bot, pack};

fn bot() -> Bot {
    pack::compile(&pack::embedded(), &pack::Options::default())
        .bot
        .expect("default pack")
}

fn say(
    bot: &Bot,
    conv: &mut Conversation,
    orders: &InMemoryOrders,
    limiter: &VerifyLimiter,
    text: &str,
) -> Outcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(engine::turn(
        bot,
        conv,
        &Input::text(text).with_lang(Some(destek::Lang::En)),
        orders,
        limiter,
    ))
}

fn text(out: &Outcome) -> String {
    out.replies
        .iter()
        .map(|r| r.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn nothing_about_an_order_before_verification() {
    let (bot, orders, limiter) = (
        bot(),
        InMemoryOrders::demo(today_utc()),
        VerifyLimiter::default(),
    );
    let mut conv = Conversation::default();
    let out = say(
        &bot,
        &mut conv,
        &orders,
        &limiter,
        "where is my order 48213977",
    );
    let said = text(&out);
    for secret in ["shipped", "Yurtiçi", "track.example", "ayse", "Seramik"] {
        assert!(
            !said.contains(secret),
            "{secret} leaked before verification: {said}"
        );
    }
    assert_eq!(conv.verified_order, None);
}

#[test]
fn an_existing_and_an_unknown_order_fail_verification_alike() {
    let (bot, orders, limiter) = (
        bot(),
        InMemoryOrders::demo(today_utc()),
        VerifyLimiter::default(),
    );
    let mut replies = Vec::new();
    for number in ["48213977", "48213978"] {
        let mut conv = Conversation::default();
        say(
            &bot,
            &mut conv,
            &orders,
            &limiter,
            &format!("where is my order {number}"),
        );
        let out = say(&bot, &mut conv, &orders, &limiter, "someone@example.com");
        replies.push(text(&out).replace(number, "N"));
    }
    assert_eq!(replies[0], replies[1]);
}

#[test]
fn an_order_number_is_locked_after_three_failures_from_any_conversations() {
    let (bot, orders, limiter) = (
        bot(),
        InMemoryOrders::demo(today_utc()),
        VerifyLimiter::default(),
    );
    for guess in ["a@example.com", "b@example.com", "c@example.com"] {
        let mut conv = Conversation::default();
        say(
            &bot,
            &mut conv,
            &orders,
            &limiter,
            "where is my order 48213977",
        );
        let out = say(&bot, &mut conv, &orders, &limiter, guess);
        assert!(text(&out).contains("don't match"));
    }
    // A fourth conversation, even with the right e-mail, is refused within the hour…
    let mut conv = Conversation::default();
    say(
        &bot,
        &mut conv,
        &orders,
        &limiter,
        "where is my order 48213977",
    );
    let out = say(
        &bot,
        &mut conv,
        &orders,
        &limiter,
        "ayse.yilmaz@example.com",
    );
    assert!(text(&out).contains("don't match"), "{}", text(&out));
    assert_eq!(conv.verified_order, None);
    // …while other orders are not affected.
    let mut conv = Conversation::default();
    say(
        &bot,
        &mut conv,
        &orders,
        &limiter,
        "where is my order 4582193",
    );
    let out = say(&bot, &mut conv, &orders, &limiter, "6789");
    assert!(text(&out).contains("out for delivery"), "{}", text(&out));
}

#[test]
fn three_failures_in_one_conversation_hand_off_even_across_flows() {
    let (bot, orders, limiter) = (
        bot(),
        InMemoryOrders::demo(today_utc()),
        VerifyLimiter::new(100, std::time::Duration::from_secs(3600)),
    );
    let mut conv = Conversation::default();
    say(
        &bot,
        &mut conv,
        &orders,
        &limiter,
        "where is my order 48213977",
    );
    say(&bot, &mut conv, &orders, &limiter, "x@example.com");
    say(&bot, &mut conv, &orders, &limiter, "y@example.com");
    assert!(conv.handoff.is_none());
    // Starting over with another order does not reset the count: the corrected number is
    // checked against the e-mail already given, which is the third failure.
    let out = say(&bot, &mut conv, &orders, &limiter, "sorry, it's 4582193");
    assert!(!text(&out).contains("out for delivery"), "{}", text(&out));
    assert!(out.handoff.is_some(), "{}", text(&out));
    assert_eq!(
        out.handoff.map(|h| h.reason).as_deref(),
        Some("verification_failed")
    );
}

#[test]
fn a_phone_given_for_verification_is_never_taken_for_an_order_number() {
    let (bot, orders, limiter) = (
        bot(),
        InMemoryOrders::demo(today_utc()),
        VerifyLimiter::default(),
    );
    let mut conv = Conversation::default();
    say(
        &bot,
        &mut conv,
        &orders,
        &limiter,
        "where is my order 4582193",
    );
    let out = say(&bot, &mut conv, &orders, &limiter, "09123456789");
    assert_eq!(
        conv.slots.get("order_number").map(String::as_str),
        Some("4582193")
    );
    assert_eq!(conv.verified_order.as_deref(), Some("4582193"));
    assert!(text(&out).contains("4582193"));
}
