//! "Do you take PayPal?": when a customer names a payment method, the answer says yes or no
//! about that method before listing the accepted ones. A method is known by its
//! `payment_method_<code>` template (its name in every language) or its code; the shop's
//! `payment_methods` say which are accepted.

use super::super::template::render;
use super::Turn;
use crate::normalise::fold;

impl Turn<'_> {
    /// Says `payment_method_accepted` or `payment_method_not_accepted` for the first method
    /// the message names, when the pack has those templates.
    pub(super) fn say_asked_payment_method(&mut self) {
        let Some(code) = self.asked_payment_method() else {
            return;
        };
        let accepted = self.bot.shop.payment_methods.contains(&code);
        let id = if accepted {
            "payment_method_accepted"
        } else {
            "payment_method_not_accepted"
        };
        let (Some(t), Some(name)) = (
            self.bot.templates.get(id),
            self.bot.templates.get(&format!("payment_method_{code}")),
        ) else {
            return;
        };
        let name = name.text[self.out.lang.index()].clone();
        let mut reply = render(t, self.out.lang, &|v| match v {
            "method" => Some(name.clone()),
            _ => self.display(v),
        });
        reply.template = id.to_owned();
        self.out.replies.push(reply);
    }

    /// The code of the payment method the message names, by any language's name or the code
    /// itself, as whole words; the earliest in the message wins.
    fn asked_payment_method(&self) -> Option<String> {
        let folded = &self.message.as_ref()?.norm.folded;
        let padded = format!(" {folded} ");
        let mut best: Option<(usize, String)> = None;
        for (id, t) in &self.bot.templates {
            let Some(code) = id.strip_prefix("payment_method_") else {
                continue;
            };
            if matches!(code, "accepted" | "not_accepted") {
                continue;
            }
            let names = t
                .text
                .iter()
                .map(|s| fold(s))
                .chain([fold(&code.replace('_', " "))]);
            for name in names.filter(|n| !n.is_empty()) {
                if let Some(at) = padded.find(&format!(" {name} "))
                    && best
                        .as_ref()
                        .is_none_or(|(b, c)| at < *b || (at == *b && code < c.as_str()))
                {
                    best = Some((at, code.to_owned()));
                }
            }
        }
        best.map(|(_, code)| code)
    }
}
