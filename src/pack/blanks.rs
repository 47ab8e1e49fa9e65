//! A template variable without a value must never leave a blank in a reply ("your payment
//! of  will be refunded"). Variables an order may lack (dates, carrier, tracking, refund)
//! need a fallback: `{order.estimated_delivery|soon}`. `check` warns of every use without
//! one. (`handoff.*` is said only when the hours give it a value.)

use super::diag::Diagnostics;
use super::raw::{Entries, S, Template};

/// Variables whose value depends on data an order, a return or the hours may not have.
pub const OPTIONAL_VARIABLES: &[&str] = &[
    "order.shipped_at",
    "order.delivered_at",
    "order.estimated_delivery",
    "order.carrier",
    "order.tracking_number",
    "order.tracking_url",
    "order.refund.status",
    "order.refund.amount",
    "order.refund.issued_at",
    "order.payment_method",
    "order.return_deadline",
    "order.refund_days",
    "return.label_url",
    "return.item",
    "return.amount",
];

/// Warns of each `{variable}` that can be empty and has no `|fallback`.
pub(super) fn check<'p>(
    files: impl Iterator<Item = (&'p str, &'p Entries<S<String>, S<Template>>)>,
    d: &mut Diagnostics,
) {
    for (path, templates) in files {
        for (id, t) in &templates.0 {
            for text in [&t.value.tr, &t.value.fa, &t.value.en]
                .into_iter()
                .flatten()
            {
                for var in bare_optional(&text.value) {
                    d.warn(
                        path,
                        text.referenced,
                        format!(
                            "template `{}` uses `{{{var}}}`, which an order may lack, without a fallback; it would render blank: write `{{{var}|…}}`",
                            id.value
                        ),
                    );
                }
            }
        }
    }
}

/// The optional variables `text` uses without a fallback.
pub fn bare_optional(text: &str) -> Vec<&str> {
    crate::dialogue::placeholders(text)
        .into_iter()
        .filter(|inner| !inner.contains('|'))
        .map(str::trim)
        .filter(|name| OPTIONAL_VARIABLES.contains(name))
        .collect()
}
