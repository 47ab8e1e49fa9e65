//! Files a customer sends (a photo of a damaged item, a receipt): `POST
//! /api/v1/conversations/{id}/attachments` (multipart, the conversation's token) stores
//! them in a directory, one folder per conversation; `GET …/attachments/{attachment_id}`
//! serves them to the conversation's token, to the agent token, or to a signed URL (the
//! one `handoff.*` webhook events carry). What a file is, is read from its first bytes,
//! never from the name or type the client gave.

use super::AppState;
use super::auth;
use super::client_ip::ClientIp;
use super::error::ApiError;
use super::turn;
use crate::store::{Change, Message, Sender, now_rfc3339};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use std::path::PathBuf;

/// Where attachments go and how large they may be.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The directory (one folder per conversation inside); without one, uploads are off.
    pub dir: Option<PathBuf>,
    pub max_bytes: usize,
    /// The server's public address (`https://bot.example.com`), for the signed URLs of
    /// webhook events; without it they are paths.
    pub public_url: Option<String>,
    /// How long a signed URL works.
    pub url_ttl_seconds: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            dir: None,
            max_bytes: 10 * 1024 * 1024,
            public_url: None,
            url_ttl_seconds: 7 * 24 * 3600,
        }
    }
}

/// The kinds of file accepted, by what their bytes say they are.
const KINDS: &[(&str, &str)] = &[
    ("jpg", "image/jpeg"),
    ("png", "image/png"),
    ("webp", "image/webp"),
    ("heic", "image/heic"),
    ("pdf", "application/pdf"),
];

/// The extension and content type of a file from its first bytes, or `None` for anything
/// not accepted.
pub fn sniff(data: &[u8]) -> Option<(&'static str, &'static str)> {
    let kind = |ext: &str| KINDS.iter().copied().find(|(e, _)| *e == ext);
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return kind("jpg");
    }
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        return kind("png");
    }
    if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        return kind("webp");
    }
    if data.len() >= 12 && &data[4..8] == b"ftyp" {
        let brand = &data[8..12];
        let heif: [&[u8]; 8] = [
            b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
        ];
        if heif.contains(&brand) {
            return kind("heic");
        }
    }
    if data.starts_with(b"%PDF-") {
        return kind("pdf");
    }
    None
}

/// The path of an attachment, as messages and answers name it.
pub fn path(conversation_id: &str, attachment_id: &str) -> String {
    format!("/api/v1/conversations/{conversation_id}/attachments/{attachment_id}")
}

fn mac(secret: &str, conversation_id: &str, attachment_id: &str, expires: i64) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("{conversation_id}/{attachment_id}/{expires}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A URL that opens the attachment without a token until it expires, signed with the
/// webhook secret.
pub fn signed_url(
    settings: &Settings,
    secret: &str,
    conversation_id: &str,
    attachment_id: &str,
    now_s: i64,
) -> String {
    let expires = now_s + settings.url_ttl_seconds;
    let sig = mac(secret, conversation_id, attachment_id, expires);
    format!(
        "{}{}?expires={expires}&sig={sig}",
        settings
            .public_url
            .as_deref()
            .unwrap_or("")
            .trim_end_matches('/'),
        path(conversation_id, attachment_id)
    )
}

/// The text of an attachment's message in the transcript: `📎 name path`.
pub fn message_text(name: &str, conversation_id: &str, attachment_id: &str) -> String {
    format!("📎 {name} {}", path(conversation_id, attachment_id))
}

/// Replaces every attachment path in customers' messages with a signed URL (for webhook
/// events).
pub fn sign_paths(state: &AppState, conversation_id: &str, messages: &mut [Message]) {
    let shared = state.shared();
    let Some(secret) = shared.settings.webhook.as_ref().map(|w| w.secret.as_str()) else {
        return;
    };
    let prefix = path(conversation_id, "");
    let now = jiff::Timestamp::now().as_second();
    for m in messages.iter_mut() {
        if m.from != Sender::Customer || !m.text.contains(&prefix) {
            continue;
        }
        let mut out = String::with_capacity(m.text.len() + 128);
        let mut rest = m.text.as_str();
        while let Some(at) = rest.find(&prefix) {
            let after = &rest[at + prefix.len()..];
            let aid = after.get(..32).filter(|a| valid_id(a));
            out.push_str(&rest[..at]);
            match aid {
                Some(aid) => {
                    let settings = &shared.settings.attachments;
                    out.push_str(&signed_url(settings, secret, conversation_id, aid, now));
                    rest = &after[32..];
                }
                None => {
                    out.push_str(&prefix);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        m.text = out;
    }
}

fn valid_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!(
            "an attachment is at most {:.0} MB",
            max as f64 / 1024.0 / 1024.0
        ),
    )
}

fn disabled() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "disabled",
        "attachments are off: set web.attachments_dir",
    )
}

/// A file name fit for a transcript line: no folders, no control characters, at most 80
/// characters.
fn clean_name(name: &str, ext: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == ' ' { '_' } else { c })
        .take(80)
        .collect();
    if cleaned.trim_matches('.').is_empty() {
        format!("file.{ext}")
    } else {
        cleaned
    }
}

/// One file part of a `multipart/form-data` body (RFC 7578): the field named `file`, or
/// else the first part with a file name.
struct Part<'a> {
    filename: String,
    data: &'a [u8],
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| &hay[i..i + needle.len()] == needle)
}

fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty() && b.len() <= 200)
    })
}

/// A parameter of a `Content-Disposition` header (`name="file"`).
fn disposition_param(headers: &str, key: &str) -> Option<String> {
    let line = headers
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
    line.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn file_part<'a>(body: &'a [u8], boundary: &str) -> Option<Part<'a>> {
    let delim = format!("--{boundary}");
    let next = format!("\r\n--{boundary}");
    let mut at = find(body, delim.as_bytes(), 0)? + delim.len();
    let mut first_file = None;
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            break;
        }
        let head_start = at + 2; // the CRLF after the delimiter
        let head_end = find(body, b"\r\n\r\n", head_start)?;
        let head = String::from_utf8_lossy(body.get(head_start..head_end)?);
        let data_start = head_end + 4;
        let data_end = find(body, next.as_bytes(), data_start)?;
        let data = &body[data_start..data_end];
        let filename = disposition_param(&head, "filename");
        let name = disposition_param(&head, "name");
        if let Some(filename) = filename {
            let part = Part { filename, data };
            if name.as_deref() == Some("file") {
                return Some(part);
            }
            first_file.get_or_insert(part);
        }
        at = data_end + next.len();
    }
    first_file
}

/// `POST /api/v1/conversations/{id}/attachments`.
pub(super) async fn upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let shared = state.shared();
    if !shared.rate.allow_ip(&ip) {
        return Err(ApiError::rate_limited());
    }
    let settings = shared.settings.attachments.clone();
    if settings.dir.is_none() {
        return Err(disabled());
    }
    let stored = shared
        .store
        .load(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such conversation"))?;
    if !auth::token_matches(auth::bearer(&headers), &stored.token_hash) {
        return Err(ApiError::unauthorized());
    }
    if !shared.rate.allow_conversation(&id) {
        return Err(ApiError::rate_limited());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(boundary) = boundary(content_type) else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the file as multipart/form-data, in a field named `file`",
        ));
    };
    // Room for the part's headers and the delimiters around the file.
    let limit = settings.max_bytes + 16 * 1024;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(settings.max_bytes));
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large(settings.max_bytes))?;
    let part = file_part(&bytes, &boundary).ok_or_else(|| {
        ApiError::bad_request("no file in the body: send it in a field named `file`")
    })?;
    let saved = save(&state, &id, &part.filename, part.data, true).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "attachment_id": saved.id,
            "url": path(&id, &saved.id),
            "content_type": saved.content_type,
            "size": saved.size,
        })),
    )
        .into_response())
}

/// An attachment as kept.
pub struct Saved {
    pub id: String,
    pub name: String,
    pub content_type: &'static str,
    pub size: usize,
}

fn unsupported() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "send a JPEG, PNG, WebP or HEIC photo, or a PDF",
    )
}

/// Keeps a file a customer sent in the conversation's folder; with `announce`, adds the
/// customer's message naming it to the transcript (with a `handoff.message` event carrying
/// a signed URL while a person has the conversation) — a channel that runs a turn with
/// `message_text` instead passes false. Refuses what is not an accepted kind (415) or too
/// large (413). Every channel's attachments go through here.
pub async fn save(
    state: &AppState,
    id: &str,
    filename: &str,
    data: &[u8],
    announce: bool,
) -> Result<Saved, ApiError> {
    let shared = state.shared();
    let settings = shared.settings.attachments.clone();
    let Some(dir) = settings.dir.clone() else {
        return Err(disabled());
    };
    if data.len() > settings.max_bytes {
        return Err(too_large(settings.max_bytes));
    }
    if data.is_empty() {
        return Err(ApiError::bad_request("the file is empty"));
    }
    let Some((ext, mime)) = sniff(data) else {
        return Err(unsupported());
    };
    let aid = uuid::Uuid::new_v4().simple().to_string();
    let name = clean_name(filename, ext);
    let size = data.len();
    let bytes = data.to_vec();
    let folder = dir.join(id);
    let file = folder.join(format!("{aid}.{ext}"));
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&folder)?;
        std::fs::write(&file, bytes)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::internal(format!("storing an attachment: {e}")))?;
    if !announce {
        return Ok(Saved {
            id: aid,
            name,
            content_type: mime,
            size,
        });
    }

    // The customer's message names the file; a person who has the conversation is told.
    let held = turn::hold(state, id).await?;
    let stored = shared
        .store
        .load(id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such conversation"))?;
    let msg = Message {
        from: Sender::Customer,
        text: message_text(&name, id, &aid),
        buttons: Vec::new(),
        agent: None,
        at: now_rfc3339(),
    };
    let mut outbox = Vec::new();
    if let (Some(h), Some(webhook)) = (&stored.state.handoff, &shared.settings.webhook) {
        let url = signed_url(
            &settings,
            &webhook.secret,
            id,
            &aid,
            jiff::Timestamp::now().as_second(),
        );
        let mut shown = msg.clone();
        sign_paths(state, id, std::slice::from_mut(&mut shown));
        let cx = crate::handoff::Context {
            conversation_id: id,
            channel: &stored.channel,
            lang: stored.state.lang.map(|l| l.code()),
            handoff: h,
            previous_agent: None,
        };
        let mut entry = crate::handoff::event("handoff.message", &cx, &[shown], None);
        if let Ok(mut body) = serde_json::from_str::<serde_json::Value>(&entry.body) {
            body["attachments"] = json!([{
                "attachment_id": aid, "name": name, "content_type": mime, "size": size, "url": url,
            }]);
            entry.body = body.to_string();
        }
        outbox.push(entry);
    }
    shared
        .store
        .commit(
            id,
            Change {
                messages: vec![msg],
                state: None,
                outbox,
            },
        )
        .await?;
    drop(held);
    Ok(Saved {
        id: aid,
        name,
        content_type: mime,
        size,
    })
}

#[derive(Deserialize)]
pub(super) struct Signed {
    expires: Option<i64>,
    sig: Option<String>,
}

/// `GET /api/v1/conversations/{id}/attachments/{attachment_id}`.
pub(super) async fn download(
    State(state): State<AppState>,
    Path((id, aid)): Path<(String, String)>,
    Query(q): Query<Signed>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let shared = state.shared();
    if !shared.rate.allow_ip(&ip) {
        return Err(ApiError::rate_limited());
    }
    let Some(dir) = shared.settings.attachments.dir.clone() else {
        return Err(disabled());
    };
    if !valid_id(&aid) {
        return Err(ApiError::not_found("no such attachment"));
    }
    let stored = shared
        .store
        .load(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such attachment"))?;
    let presented = auth::bearer(&headers);
    let by_token = auth::token_matches(presented, &stored.token_hash)
        || auth::secret_matches(presented, shared.settings.agent_token.as_deref());
    let by_signature = match (&q.expires, &q.sig, &shared.settings.webhook) {
        (Some(expires), Some(sig), Some(w)) => {
            *expires >= jiff::Timestamp::now().as_second()
                && auth::constant_time_eq(
                    mac(&w.secret, &id, &aid, *expires).as_bytes(),
                    sig.as_bytes(),
                )
        }
        _ => false,
    };
    if !by_token && !by_signature {
        return Err(ApiError::unauthorized());
    }
    let folder = dir.join(&id);
    let found = tokio::task::spawn_blocking(move || {
        KINDS.iter().find_map(|(ext, mime)| {
            std::fs::read(folder.join(format!("{aid}.{ext}")))
                .ok()
                .map(|data| (data, *mime))
        })
    })
    .await
    .map_err(ApiError::internal)?;
    let Some((data, mime)) = found else {
        return Err(ApiError::not_found("no such attachment"));
    };
    let disposition = if mime.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        data,
    )
        .into_response())
}

/// Removes a conversation's attachments (for `DELETE /api/v1/conversations/{id}`).
pub async fn erase(state: &AppState, id: &str) -> Result<(), ApiError> {
    let Some(dir) = state.shared().settings.attachments.dir.clone() else {
        return Ok(());
    };
    let folder = dir.join(id);
    tokio::task::spawn_blocking(move || match std::fs::remove_dir_all(&folder) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::internal(format!("removing attachments: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_known_by_their_bytes() {
        assert_eq!(
            sniff(b"\xFF\xD8\xFF\xE0rest").map(|k| k.1),
            Some("image/jpeg")
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\nIHDR").map(|k| k.1),
            Some("image/png")
        );
        assert_eq!(
            sniff(b"RIFF\0\0\0\0WEBPVP8 ").map(|k| k.1),
            Some("image/webp")
        );
        assert_eq!(
            sniff(b"\0\0\0\x18ftypheic\0\0").map(|k| k.1),
            Some("image/heic")
        );
        assert_eq!(sniff(b"%PDF-1.7\n").map(|k| k.1), Some("application/pdf"));
        assert_eq!(sniff(b"<html><script>"), None);
        assert_eq!(sniff(b"GIF89a"), None);
    }

    #[test]
    fn the_file_part_of_a_multipart_body() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n\
                     --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.png\"\r\n\
                     Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n--x\r\n--XyZ--\r\n";
        let p = file_part(body, "XyZ").expect("a file part");
        assert_eq!(p.filename, "a b.png");
        assert_eq!(p.data, b"\x89PNG\r\n\x1a\n--x");
        assert_eq!(
            boundary("multipart/form-data; boundary=\"XyZ\"").as_deref(),
            Some("XyZ")
        );
        assert_eq!(clean_name("../../etc/pa\u{7}ss wd", "png"), "pass_wd");
        assert_eq!(clean_name("..", "pdf"), "file.pdf");
    }
}
