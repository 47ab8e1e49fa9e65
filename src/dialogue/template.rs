//! Rendering templates: `{variable}` replaced from the turn's variables, `{{`/`}}` literal.

use crate::bot::{Button, Template};
use crate::dialogue::{Reply, ReplyButton};
use crate::lang::Lang;

/// Renders a template in `lang`. A variable without a value renders as nothing: `check`
/// has already rejected unknown names, so an empty one is data the order lacks.
pub fn render(t: &Template, lang: Lang, var: &dyn Fn(&str) -> Option<String>) -> Reply {
    Reply {
        text: fill(&t.text[lang.index()], var),
        buttons: t.buttons.iter().map(|b| button(b, lang)).collect(),
        template: String::new(),
    }
}

pub(crate) fn button(b: &Button, lang: Lang) -> ReplyButton {
    ReplyButton {
        label: b.label[lang.index()].clone(),
        payload: b.payload.clone(),
    }
}

fn fill(text: &str, var: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let c = rest.as_bytes()[i] as char;
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix(c) {
            out.push(c);
            rest = stripped;
            continue;
        }
        match (c, after.find('}')) {
            ('{', Some(end)) => {
                if let Some(v) = var(after[..end].trim()) {
                    out.push_str(&v);
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push(c);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_variables_and_keeps_literal_braces() {
        let var = |name: &str| (name == "order.status").then(|| "shipped".to_string());
        assert_eq!(fill("Order is {order.status}.", &var), "Order is shipped.");
        assert_eq!(fill("{{literal}} {missing}!", &var), "{literal} !");
        assert_eq!(fill("no vars", &var), "no vars");
    }
}
