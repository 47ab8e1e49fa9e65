//! Bearer tokens: conversation tokens are random, stored only as their SHA-256, and every
//! comparison takes the same time whatever the input.

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

/// A new random conversation token (244 bits from the OS generator).
pub fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares in time independent of where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a presented conversation token is the one whose hash is stored.
pub fn token_matches(token: Option<&str>, stored_hash: &[u8; 32]) -> bool {
    token.is_some_and(|t| constant_time_eq(&hash(t), stored_hash))
}

/// The token of `Authorization: Bearer <token>`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Whether `presented` is the configured secret, compared by hash so lengths leak nothing.
pub fn secret_matches(presented: Option<&str>, secret: Option<&str>) -> bool {
    match (presented, secret) {
        (Some(p), Some(s)) if !s.is_empty() => constant_time_eq(&hash(p), &hash(s)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_compare_by_value() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(constant_time_eq(&hash(&a), &hash(&a)));
        assert!(!constant_time_eq(&hash(&a), &hash(&b)));
        assert!(!secret_matches(Some("x"), None));
        assert!(!secret_matches(Some(""), Some("")));
        assert!(secret_matches(Some("s3cret"), Some("s3cret")));
    }
}
