//! Photos and documents a customer sends on Telegram, fetched from the Bot API (`getFile`,
//! then the file itself) and kept like the widget's attachments (`web::attachments::save`):
//! the customer's message in the transcript names them with a link a person can open
//! (signed in webhook events). Whatever cannot be fetched or kept stays as the file id.

use super::Channel;
use teloxide::net::Download;
use teloxide::requests::Requester;
use teloxide::types::Message;

/// The message's photo (its largest size) or document: its file id, a name and the size
/// Telegram announces.
fn file_of(m: &Message) -> Option<(String, String, u32)> {
    if let Some(p) = m.photo().and_then(|sizes| sizes.last()) {
        return Some((p.file.id.0.clone(), "photo.jpg".into(), p.file.size));
    }
    let d = m.document()?;
    let name = d.file_name.clone().unwrap_or_else(|| "document".into());
    Some((d.file.id.0.clone(), name, d.file.size))
}

/// Fetches and keeps the message's photo or document; returns its transcript line
/// (`📎 name path`), or `None` when attachments are off, the message has none, or it could
/// not be fetched or kept (too large, not an accepted kind, the Bot API failed).
pub(super) async fn keep(channel: &Channel, conversation_id: &str, m: &Message) -> Option<String> {
    let max = channel.state.shared().settings.attachments.max_bytes;
    channel.state.shared().settings.attachments.dir.as_ref()?;
    let (file_id, name, size) = file_of(m)?;
    // Too large to keep, by what Telegram says (teloxide reads an absent size as u32::MAX).
    let too_large = |size: u32| size != u32::MAX && size as usize > max;
    if too_large(size) {
        return None;
    }
    let file = match channel.bot.get_file(file_id.into()).await {
        Ok(f) => f,
        Err(e) => {
            crate::logging::warn(format_args!("telegram getFile: {e}"));
            return None;
        }
    };
    if too_large(file.size) {
        return None;
    }
    let mut data: Vec<u8> = Vec::new();
    if let Err(e) = channel.bot.download_file(&file.path, &mut data).await {
        crate::logging::warn(format_args!("telegram file download: {e}"));
        return None;
    }
    // The turn that follows puts the returned line in the transcript.
    let saved =
        crate::web::attachments::save(&channel.state, conversation_id, &name, &data, false).await;
    match saved {
        Ok(saved) => Some(crate::web::attachments::message_text(
            &saved.name,
            conversation_id,
            &saved.id,
        )),
        Err(e) => {
            crate::logging::warn(format_args!("telegram attachment not kept: {}", e.detail));
            None
        }
    }
}
