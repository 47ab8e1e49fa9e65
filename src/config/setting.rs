//! Where a setting came from — a `DESTEK_*` variable or a place in the file — so that an
//! error about its value names the variable, or `file:line:col`.

use serde_saphyr::{Location, Spanned};
use std::fmt::Display;
use std::path::Path;

enum Origin {
    Env(String),
    File(Location),
}

/// A text value and its origin.
pub(super) struct Setting {
    pub value: String,
    origin: Origin,
}

pub(super) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Setting {
    /// `DESTEK_<key>` when set, else the file's value.
    pub fn pick(env: Env<'_>, key: &str, file: Option<Spanned<String>>) -> Option<Setting> {
        match env(key) {
            Some(value) => Some(Setting {
                value,
                origin: Origin::Env(format!("DESTEK_{key}")),
            }),
            None => file.map(Setting::from_file),
        }
    }

    /// Each comma-separated item of `DESTEK_<key>` when set, else the file's list.
    pub fn pick_list(env: Env<'_>, key: &str, file: Vec<Spanned<String>>) -> Vec<Setting> {
        match env(key) {
            Some(list) => list
                .split(',')
                .map(|v| Setting {
                    value: v.trim().to_owned(),
                    origin: Origin::Env(format!("DESTEK_{key}")),
                })
                .collect(),
            None => file.into_iter().map(Setting::from_file).collect(),
        }
    }

    fn from_file(s: Spanned<String>) -> Setting {
        Setting {
            value: s.value,
            origin: Origin::File(s.referenced),
        }
    }

    /// An error about this value: `DESTEK_X: key: …` or `file:line:col: error: key: …`.
    pub fn error(&self, file: Option<&Path>, key: &str, message: impl Display) -> String {
        match (&self.origin, file) {
            (Origin::Env(var), _) => format!("{var}: {key}: {message}"),
            (Origin::File(at), Some(path)) => format!(
                "{}:{}:{}: error: {key}: {message}",
                path.display(),
                at.line(),
                at.column()
            ),
            (Origin::File(_), None) => format!("{key}: {message}"),
        }
    }
}

/// A whole-number override; a value that does not parse stops the start, naming the
/// variable (a typo must not silently leave the default in force).
pub(super) fn env_number(key: &str, env: Env<'_>) -> Result<Option<u32>, String> {
    env(key)
        .map(|v| {
            v.trim().parse().map_err(|_| {
                format!(
                    "DESTEK_{key}: `{v}` is not a whole number from 0 to {}",
                    u32::MAX
                )
            })
        })
        .transpose()
}

/// A yes/no override: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`.
pub(super) fn env_bool(key: &str, env: Env<'_>) -> Result<Option<bool>, String> {
    env(key)
        .map(|v| match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(format!("DESTEK_{key}: `{v}` is not true or false")),
        })
        .transpose()
}
