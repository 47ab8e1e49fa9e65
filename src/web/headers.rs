//! Security headers on every answer: a Content-Security-Policy that the demo page and the
//! widget keep to (no inline scripts, no style attributes; the demo page's one `<style>`
//! block allowed by its hash), `nosniff`, no referrer, and framing only by the origins of
//! `web.allowed_origins`.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use sha2::{Digest, Sha256};
use std::sync::Arc;

#[derive(Debug)]
pub struct SecurityHeaders {
    csp: HeaderValue,
    /// `X-Frame-Options` for browsers without `frame-ancestors`, when only this origin may
    /// frame the pages.
    frame_options: Option<HeaderValue>,
}

/// The CSP source of an inline `<style>` or `<script>` element: `'sha256-…'` of its text.
pub fn csp_hash(text: &str) -> String {
    format!(
        "'sha256-{}'",
        crate::base64::encode(&Sha256::digest(text.as_bytes()))
    )
}

/// The text of every `<style>` element of a page.
fn inline_styles(page: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find("<style>") {
        let body = &rest[start + "<style>".len()..];
        let Some(end) = body.find("</style>") else {
            break;
        };
        out.push(&body[..end]);
        rest = &body[end..];
    }
    out
}

impl SecurityHeaders {
    pub fn new(allowed_origins: &[String], page: &str) -> SecurityHeaders {
        let styles: Vec<String> = inline_styles(page).into_iter().map(csp_hash).collect();
        let ancestors = if allowed_origins.iter().any(|o| o == "*") {
            "*".to_owned()
        } else {
            std::iter::once("'self'")
                .chain(
                    allowed_origins
                        .iter()
                        .map(|o| o.trim_end_matches('/'))
                        // An origin with a space or a quote would break the header.
                        .filter(|o| !o.is_empty() && o.chars().all(|c| c.is_ascii_graphic())),
                )
                .collect::<Vec<_>>()
                .join(" ")
        };
        let csp = format!(
            "default-src 'self'; script-src 'self'; style-src 'self' {}; img-src 'self' data:; \
             connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
             frame-ancestors {ancestors}",
            styles.join(" ")
        );
        SecurityHeaders {
            csp: HeaderValue::from_str(&csp)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'")),
            frame_options: allowed_origins
                .is_empty()
                .then(|| HeaderValue::from_static("SAMEORIGIN")),
        }
    }
}

/// Middleware adding the headers to a response.
pub async fn add(State(h): State<Arc<SecurityHeaders>>, mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, h.csp.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Some(v) = &h.frame_options {
        headers.insert(header::X_FRAME_OPTIONS, v.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_base64_of_sha256() {
        assert_eq!(crate::base64::encode(b"Man"), "TWFu");
        assert_eq!(crate::base64::encode(b"Ma"), "TWE=");
        assert_eq!(crate::base64::encode(b"M"), "TQ==");
        // printf '' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            csp_hash(""),
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
        );
    }
}
