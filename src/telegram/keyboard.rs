//! Reply buttons as inline keyboards. Telegram limits `callback_data` to 64 bytes: a longer
//! payload is sent as a short key and looked up here when the button is pressed.

use crate::dialogue::ReplyButton;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardButtonKind, InlineKeyboardMarkup};

/// Telegram's limit on `callback_data`, in bytes.
pub(super) const MAX_CALLBACK_DATA: usize = 64;

/// Marks a key that stands for a longer payload.
const KEY_PREFIX: &str = "#k:";

/// Long payloads remembered at most; pack payloads are few, so this is only a bound. When it
/// is reached the map starts afresh and buttons of older messages with long payloads stop
/// working (as they do after a restart).
const MAX_KEYS: usize = 4096;

#[derive(Default)]
pub(super) struct Keyboards {
    /// key -> payload. A std Mutex: never held across an await.
    long: Mutex<HashMap<String, String>>,
}

impl Keyboards {
    /// One button per row, as the site widget shows them.
    pub(super) fn markup(&self, buttons: &[ReplyButton]) -> Option<InlineKeyboardMarkup> {
        if buttons.is_empty() {
            return None;
        }
        let rows = buttons.iter().map(|b| {
            vec![InlineKeyboardButton::callback(
                b.label.clone(),
                self.callback_data(&b.payload),
            )]
        });
        Some(InlineKeyboardMarkup::new(rows))
    }

    fn callback_data(&self, payload: &str) -> String {
        if payload.len() <= MAX_CALLBACK_DATA && !payload.starts_with(KEY_PREFIX) {
            return payload.to_owned();
        }
        let digest = Sha256::digest(payload.as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        let key = format!("{KEY_PREFIX}{hex}");
        let mut long = match self.long.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if long.len() >= MAX_KEYS {
            long.clear();
        }
        long.insert(key.clone(), payload.to_owned());
        key
    }

    /// The payload a pressed button stands for; `None` for a key this process never made.
    pub(super) fn payload(&self, data: &str) -> Option<String> {
        if !data.starts_with(KEY_PREFIX) {
            return Some(data.to_owned());
        }
        let long = match self.long.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        long.get(data).cloned()
    }
}

/// The label of the button carrying `data` on the message it was pressed on.
pub(super) fn label(markup: Option<&InlineKeyboardMarkup>, data: &str) -> Option<String> {
    markup?
        .inline_keyboard
        .iter()
        .flatten()
        .find(|b| matches!(&b.kind, InlineKeyboardButtonKind::CallbackData(d) if d == data))
        .map(|b| b.text.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn button(payload: &str) -> ReplyButton {
        ReplyButton {
            label: "L".into(),
            payload: payload.into(),
        }
    }

    #[test]
    fn long_payloads_are_mapped_under_the_limit_and_back() {
        let k = Keyboards::default();
        let long = format!("intent:{}", "x".repeat(100));
        let markup = k.markup(&[button("intent:greeting"), button(&long)]);
        let data: Vec<String> = markup
            .iter()
            .flat_map(|m| m.inline_keyboard.iter().flatten())
            .filter_map(|b| match &b.kind {
                InlineKeyboardButtonKind::CallbackData(d) => Some(d.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(data[0], "intent:greeting");
        assert!(data[1].len() <= MAX_CALLBACK_DATA);
        assert_eq!(k.payload(&data[1]), Some(long));
        assert_eq!(k.payload("#k:unknown"), None);
        assert_eq!(label(markup.as_ref(), &data[0]).as_deref(), Some("L"));
    }
}
