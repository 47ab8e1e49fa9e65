//! What a notice says: the pack's `notice_<event>` template in the conversation's
//! language. A value the event and the order lack must never leave a blank, so each event
//! may have variants — `notice_<event>`, `_no_estimate`, `_no_tracking`, `_plain` — and the
//! first one whose every variable has a value is said.

use super::{EventKind, OrderEvent};
use crate::bot::Bot;
use crate::dialogue::{Reply, placeholders, render as fill};
use crate::lang::Lang;
use crate::orders::Order;

/// Template variants, most specific first.
pub const VARIANTS: [&str; 4] = ["", "_no_estimate", "_no_tracking", "_plain"];

/// The template the customer hears after opting out.
pub const OPTED_OUT: &str = "notice_opted_out";
/// The template the customer hears after turning notices back on ("start").
pub const OPTED_IN: &str = "notice_opted_in";

/// The base template id of an event (`notice_delayed`).
pub fn template_id(kind: EventKind) -> String {
    format!("notice_{}", kind.as_str())
}

/// A variable of a notice: from the event first, then from the order as the backend has
/// it (when it could be read), then the shop's settings.
pub fn variable(
    bot: &Bot,
    lang: Lang,
    order_id: &str,
    event: &OrderEvent,
    order: Option<&Order>,
    name: &str,
) -> Option<String> {
    let date = |d: Option<&str>| {
        let d = d?.get(..10)?.parse::<jiff::civil::Date>().ok()?;
        Some(crate::locale::date(d, lang))
    };
    let value = match name {
        "order_number" | "order.order_id" => Some(order_id.to_owned()),
        "order.estimated_delivery" => date(
            event
                .estimated_delivery
                .as_deref()
                .or(order.and_then(|o| o.estimated_delivery.as_deref())),
        ),
        "order.tracking_url" => event
            .tracking_url
            .clone()
            .or_else(|| order.and_then(|o| o.tracking_url.clone())),
        "order.carrier" => order.and_then(|o| o.carrier.clone()),
        "order.tracking_number" => order.and_then(|o| o.tracking_number.clone()),
        "order.refund.amount" => order
            .and_then(|o| o.refund.as_ref())
            .map(|r| crate::locale::amount(r.amount, lang)),
        "order.currency" => order.map(|o| o.currency.clone()),
        n if n.starts_with("shop.") => bot.shop.variable(n),
        _ => None,
    };
    value.filter(|v| !v.trim().is_empty())
}

/// The notice for `kind` in `lang`: the first variant whose variables all have values
/// (else the last variant the pack has, whose fallbacks then speak). `None` when the pack
/// has no template for the event. Returns the template id with the reply.
pub fn notice(
    bot: &Bot,
    kind: EventKind,
    lang: Lang,
    var: &dyn Fn(&str) -> Option<String>,
) -> Option<(String, Reply)> {
    let base = template_id(kind);
    let mut last = None;
    for suffix in VARIANTS {
        let id = format!("{base}{suffix}");
        let Some(t) = bot.templates.get(&id) else {
            continue;
        };
        let complete = placeholders(&t.text[lang.index()]).into_iter().all(|p| {
            let name = p.split_once('|').map_or(p, |(n, _)| n).trim();
            var(name).is_some()
        });
        if complete {
            return Some((id.clone(), with_id(fill(t, lang, var), &id)));
        }
        last = Some((id, t));
    }
    let (id, t) = last?;
    Some((id.clone(), with_id(fill(t, lang, var), &id)))
}

fn with_id(mut r: Reply, id: &str) -> Reply {
    r.template = id.to_owned();
    r
}

/// The events the pack has no template for (any variant): with the events endpoint on,
/// `destek check` warns of each, since such events are recorded but never said.
pub fn missing_templates(bot: &Bot) -> Vec<String> {
    [
        EventKind::Delayed,
        EventKind::Shipped,
        EventKind::OutForDelivery,
        EventKind::Delivered,
        EventKind::RefundIssued,
    ]
    .into_iter()
    .filter(|k| {
        let base = template_id(*k);
        !VARIANTS
            .iter()
            .any(|v| bot.templates.contains_key(&format!("{base}{v}")))
    })
    .map(|k| {
        format!(
            "no `{}` template: `{}` order events are never said to customers",
            template_id(k),
            k.as_str()
        )
    })
    .chain((!bot.templates.contains_key(OPTED_OUT)).then(|| {
        format!("no `{OPTED_OUT}` template: a customer who opts out of notices is not told so")
    }))
    .collect()
}
