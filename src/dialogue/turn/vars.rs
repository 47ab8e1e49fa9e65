//! Replies and the variables templates use: slots, shop settings, business hours and the
//! fields of the verified order, shown the way the reply language writes them.

use super::super::template::{render, unfilled};
use super::Turn;
use crate::bot::{Bot, StepKind};
use crate::dialogue::{Availability, Conversation, Input, Reply};
use crate::lang::Lang;
use crate::orders::{Order, OrderStatus};
use jiff::civil::Date;

impl Turn<'_> {
    pub(super) fn say(&mut self, template: &str) {
        let Some(t) = self.bot.templates.get(template) else {
            return;
        };
        if template == "payment_methods" {
            self.say_asked_payment_method();
        }
        let mut reply = render(t, self.out.lang, &|v| self.display(v));
        reply.template = template.to_owned();
        self.out.replies.push(reply);
    }

    /// A variable as a reply shows it: dates and amounts the way the reply language writes
    /// them (`variable` gives the raw value that branches compare).
    pub(super) fn display(&self, name: &str) -> Option<String> {
        let lang = self.out.lang;
        let raw = self.variable(name)?;
        let is_date = matches!(
            name,
            "order.placed_at"
                | "order.shipped_at"
                | "order.delivered_at"
                | "order.estimated_delivery"
                | "order.refund.issued_at"
                | "order.return_deadline"
        );
        let is_amount = matches!(
            name,
            "order.total"
                | "order.refund.amount"
                | "shop.shipping_fee"
                | "shop.free_shipping_threshold"
        );
        if is_date && let Some(d) = date_of(Some(&raw)) {
            return Some(crate::locale::date(d, lang));
        }
        if is_amount && let Ok(v) = raw.parse::<f64>() {
            return Some(crate::locale::money(v, lang));
        }
        if name == "order.currency" {
            return Some(self.bot.shop.currency_for(&raw));
        }
        // A number the customer wrote in Persian digits comes back in them (a code with
        // Latin letters, such as TR-55320, stays as it is).
        if self.conv.persian_digits
            && lang == Lang::Fa
            && raw.contains(|c: char| c.is_ascii_digit())
            && !raw.contains(|c: char| c.is_ascii_alphabetic())
        {
            return Some(crate::locale::persian_digits(&raw));
        }
        Some(raw)
    }

    /// A template variable: a slot, a shop setting, or a field of the verified order.
    pub(super) fn variable(&self, name: &str) -> Option<String> {
        if let Some(v) = self.conv.slots.get(name) {
            return Some(v.clone());
        }
        if name.starts_with("next_") {
            return self.next_request_variable(name);
        }
        if name == "shop.payment_methods" {
            let names: Vec<String> = self
                .bot
                .shop
                .payment_methods
                .iter()
                .map(|code| {
                    self.bot
                        .templates
                        .get(&format!("payment_method_{code}"))
                        .map_or_else(|| code.clone(), |t| t.text[self.out.lang.index()].clone())
                })
                .collect();
            return Some(names.join(", "));
        }
        if name.starts_with("shop.") {
            return self.bot.shop.variable(name);
        }
        match (name, &self.availability) {
            // Whether a person can take the conversation now — for `branch`.
            ("handoff.available", a) => {
                return Some(yes_no_word(matches!(a, Some(Availability::Open { .. }))));
            }
            ("handoff.wait_minutes", Some(Availability::Open { wait_minutes })) => {
                return Some(wait_minutes.to_string());
            }
            (
                "handoff.opens_at",
                Some(Availability::Closed {
                    weekday,
                    time,
                    days_ahead,
                }),
            ) => {
                return Some(crate::locale::opens_at(
                    self.out.lang,
                    *weekday,
                    time,
                    *days_ahead,
                ));
            }
            _ => {}
        }
        let field = name.strip_prefix("order.")?;
        let verified = self.conv.verified_order.as_ref()?;
        let order = self.orders.get(verified)?.as_ref()?;
        match field {
            "late" => {
                let late = matches!(
                    order.status,
                    OrderStatus::Placed
                        | OrderStatus::Processing
                        | OrderStatus::Shipped
                        | OrderStatus::OutForDelivery
                ) && date_of(order.estimated_delivery.as_deref())
                    .zip(self.today)
                    .is_some_and(|(eta, today)| eta < today);
                Some(yes_no_word(late))
            }
            "return_deadline" => self.return_deadline(order).map(|d| d.to_string()),
            "return_open" => {
                let open = order.status == OrderStatus::Delivered
                    && self
                        .return_deadline(order)
                        .zip(self.today)
                        .is_none_or(|(deadline, today)| today <= deadline);
                Some(yes_no_word(open))
            }
            "refund_days" => self.bot.shop.refund_days(order.payment_method.as_deref()),
            _ => order_field(order, field),
        }
    }

    pub(super) fn return_deadline(&self, order: &Order) -> Option<Date> {
        let delivered = date_of(order.delivered_at.as_deref())?;
        delivered
            .checked_add(jiff::Span::new().days(i64::from(self.bot.shop.return_window_days)))
            .ok()
    }
}

fn yes_no_word(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// The date part of an ISO date or timestamp from the backend.
fn date_of(s: Option<&str>) -> Option<Date> {
    let s = s?;
    s.get(..10).unwrap_or(s).parse().ok()
}

fn order_field(o: &Order, field: &str) -> Option<String> {
    Some(match field {
        "order_id" => o.order_id.clone(),
        "status" => o.status.as_str().to_owned(),
        "placed_at" => o.placed_at.clone(),
        "shipped_at" => o.shipped_at.clone()?,
        "delivered_at" => o.delivered_at.clone()?,
        "estimated_delivery" => o.estimated_delivery.clone()?,
        "carrier" => o.carrier.clone()?,
        "tracking_number" => o.tracking_number.clone()?,
        "tracking_url" => o.tracking_url.clone()?,
        "items" => o
            .items
            .iter()
            .map(|i| {
                if i.qty > 1 {
                    format!("{} × {}", i.qty, i.name)
                } else {
                    i.name.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
        "total" => format!("{:.2}", o.total),
        "currency" => o.currency.clone(),
        "refund.status" => o.refund.as_ref()?.status.clone(),
        "refund.amount" => format!("{:.2}", o.refund.as_ref()?.amount),
        "refund.issued_at" => o.refund.as_ref()?.issued_at.clone()?,
        "payment_method" => o.payment_method.clone()?,
        _ => return None,
    })
}

/// Renders template `id` for a verified customer with `order` (every slot a flow asks for
/// filled in), as a reply in a flow would show it. Returns the reply and the variables
/// that had no value and no fallback (so showed a dash): `destek check` and the tests use
/// it to prove no template renders a blank.
pub fn render_for_order(
    bot: &Bot,
    id: &str,
    lang: Lang,
    order: &Order,
    today: Option<Date>,
) -> Option<(Reply, Vec<String>)> {
    let template = bot.templates.get(id)?;
    let mut conv = Conversation {
        lang: Some(lang),
        verified_order: Some(order.order_id.clone()),
        ..Conversation::default()
    };
    for flow in &bot.flows {
        for step in &flow.steps {
            if let StepKind::Ask { slot, .. } = &step.kind {
                conv.slots.insert(slot.clone(), "…".into());
            }
        }
    }
    conv.slots
        .insert("order_number".into(), order.order_id.clone());
    conv.slots.insert("return.return_id".into(), "R-1".into());
    let mut t = Turn::new(bot, &mut conv, &Input::default());
    t.today = today;
    t.orders.insert(order.order_id.clone(), Some(order.clone()));
    let mut reply = render(template, lang, &|v| t.display(v));
    reply.template = id.to_owned();
    let missing = unfilled(&template.text[lang.index()], &|v| t.display(v));
    Some((reply, missing))
}
