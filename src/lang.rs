//! The three languages destek speaks, and how a reply language is chosen.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A customer-facing language. Every template exists in each of them.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Tr,
    Fa,
    #[default]
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Tr, Lang::Fa, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Tr => "tr",
            Lang::Fa => "fa",
            Lang::En => "en",
        }
    }

    /// Parses a language code as channels send it (`tr`, `fa-IR`, `en_US`, `EN`).
    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        match primary.as_str() {
            "tr" => Some(Lang::Tr),
            "fa" | "per" | "fas" => Some(Lang::Fa),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_channel_language_codes() {
        assert_eq!(Lang::parse("tr"), Some(Lang::Tr));
        assert_eq!(Lang::parse("fa-IR"), Some(Lang::Fa));
        assert_eq!(Lang::parse("EN_us"), Some(Lang::En));
        assert_eq!(Lang::parse("de"), None);
        assert_eq!(Lang::parse(""), None);
    }
}
