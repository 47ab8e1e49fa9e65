//! Client message ids: a client that numbers its messages (`client_id`) can send one
//! again after a lost answer without it being taken twice.

use super::error::ApiError;
use serde_json::{Value, json};

/// A client id is 1–64 of `A-Z a-z 0-9 - _`.
pub(super) fn check(id: Option<&str>) -> Result<Option<String>, ApiError> {
    match id {
        None => Ok(None),
        Some(c)
            if !c.is_empty()
                && c.len() <= 64
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(Some(c.to_owned()))
        }
        Some(_) => Err(ApiError::bad_request(
            "`client_id` is 1-64 characters of A-Z a-z 0-9 - _",
        )),
    }
}

/// The answer to a message the conversation has already taken: no new replies (the
/// transcript has the ones it got).
pub(super) fn duplicate() -> Value {
    json!({"replies": [], "duplicate": true})
}
