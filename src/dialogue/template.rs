//! Rendering templates: `{variable}` replaced from the turn's variables, `{{`/`}}` literal.

use crate::bot::{Button, Template};
use crate::dialogue::{Reply, ReplyButton};
use crate::lang::Lang;

/// Renders a template in `lang`. A variable without a value renders as its fallback
/// (`{order.carrier|the carrier}`), or as a dash when it has none (`check` warns of those),
/// never as a blank.
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
    // A byte search: braces are ASCII, never inside another character's UTF-8 bytes.
    while let Some(i) = memchr::memchr2(b'{', b'}', rest.as_bytes()) {
        out.push_str(&rest[..i]);
        let c = rest.as_bytes()[i] as char;
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix(c) {
            out.push(c);
            rest = stripped;
            continue;
        }
        match (c, memchr::memchr(b'}', after.as_bytes())) {
            ('{', Some(end)) => {
                let inner = &after[..end];
                let (name, fallback) = match memchr::memchr(b'|', inner.as_bytes()) {
                    Some(bar) => (inner[..bar].trim(), Some(inner[bar + 1..].trim())),
                    None => (inner.trim(), None),
                };
                // Blank: nothing but whitespace (as `trim` sees it), found at the first
                // character that is not.
                let blank = |v: &String| v.chars().all(char::is_whitespace);
                match (var(name).filter(|v| !blank(v)), fallback) {
                    (Some(v), _) => out.push_str(&v),
                    (None, Some(f)) => out.push_str(f),
                    // Never a blank: `check` warns of variables that can be empty
                    // without a fallback; a dash shows the gap if one slips through.
                    (None, None) => out.push('—'),
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

/// What stands between `{` and `}` in each placeholder of `text` (`{{` is a literal brace).
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('{') {
            rest = stripped;
            continue;
        }
        let Some(end) = after.find('}') else { break };
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}

/// The variables of `text` that have no value and no fallback: each would show as a dash.
pub fn unfilled(text: &str, var: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    placeholders(text)
        .into_iter()
        .filter(|inner| !inner.contains('|'))
        .map(str::trim)
        .filter(|name| var(name).is_none_or(|v| v.trim().is_empty()))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_variables_and_keeps_literal_braces() {
        let var = |name: &str| (name == "order.status").then(|| "shipped".to_string());
        assert_eq!(fill("Order is {order.status}.", &var), "Order is shipped.");
        assert_eq!(fill("{{literal}} {missing}!", &var), "{literal} —!");
        assert_eq!(
            fill("by {order.carrier|the carrier}.", &var),
            "by the carrier."
        );
        assert_eq!(fill("is {order.status|unknown}.", &var), "is shipped.");
        assert_eq!(fill("no vars", &var), "no vars");
    }
}
