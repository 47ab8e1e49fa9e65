//! `/transcript`: the conversation so far as a few text messages. Who said what is shown by
//! a symbol, not a word, so the output needs no strings outside the pack's YAML.

use super::send::{MAX_TEXT_CHARS, chunks};
use crate::store::{Message, Sender};

/// The transcript's lines, packed into messages of at most `MAX_TEXT_CHARS` chars.
pub(super) fn messages(transcript: &[Message]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for m in transcript.iter().filter(|m| !m.text.trim().is_empty()) {
        let who = match m.from {
            Sender::Customer => "👤",
            Sender::Bot => "🤖",
            Sender::Agent => "🧑‍💼",
        };
        let line = format!("{who} {}", m.text.trim());
        let len = current.chars().count() + 2 + line.chars().count();
        if !current.is_empty() && len > MAX_TEXT_CHARS {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push_str("\n\n");
        }
        current.push_str(&line);
    }
    if !current.is_empty() {
        out.push(current);
    }
    // A single line longer than a message is cut further.
    out.iter().flat_map(|m| chunks(m, MAX_TEXT_CHARS)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(from: Sender, text: &str) -> Message {
        Message {
            from,
            text: text.into(),
            buttons: Vec::new(),
            agent: None,
            at: String::new(),
        }
    }

    #[test]
    fn lines_are_marked_and_packed() {
        let t = [
            msg(Sender::Customer, "merhaba"),
            msg(Sender::Bot, "Merhaba!"),
        ];
        assert_eq!(messages(&t), vec!["👤 merhaba\n\n🤖 Merhaba!"]);
        assert!(messages(&[]).is_empty());
        let many: Vec<Message> = (0..100)
            .map(|_| msg(Sender::Agent, &"a".repeat(100)))
            .collect();
        let out = messages(&many);
        assert!(out.len() > 1);
        assert!(out.iter().all(|m| m.chars().count() <= MAX_TEXT_CHARS));
    }
}
