//! What a conversation remembers of proactive notices (`crate::notices`): whether the
//! customer opted out, when the latest ones came (for the daily limit), and whether the
//! customer has answered the last one yet.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeState {
    /// The customer said "stop": no more notices, ever, unless they ask again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub off: bool,
    /// Notices received so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub received: u32,
    /// When the notices of the last day came (Unix milliseconds), for the daily limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_ms: Vec<i64>,
    /// The order of the last notice, while the customer has not written since it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unanswered: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl NoticeState {
    /// Whether nothing is remembered (the field is then left out of the stored state).
    pub fn is_empty(&self) -> bool {
        *self == NoticeState::default()
    }
}
