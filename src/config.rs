//! `destek.yaml`: where the pack lives and the default language. Every key is optional and
//! can be overridden by a `DESTEK_<KEY>` environment variable. Channel, storage and handoff
//! sections are reserved for the server and accepted here so one file serves every command.

use crate::lang::Lang;
use crate::pack::diag::yaml_message;
use crate::shop::Shop;
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    default_lang: Option<String>,
    intents_dir: Option<String>,
    flows_dir: Option<String>,
    // Reserved for the server (design §8); validated where they are used.
    #[allow(dead_code)]
    storage: Option<IgnoredAny>,
    #[allow(dead_code)]
    web: Option<IgnoredAny>,
    #[allow(dead_code)]
    telegram: Option<IgnoredAny>,
    #[allow(dead_code)]
    handoff: Option<IgnoredAny>,
    #[allow(dead_code)]
    orders: Option<IgnoredAny>,
    shop: Option<Shop>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub default_lang: Lang,
    pub shop: Shop,
    pub intents_dir: PathBuf,
    pub flows_dir: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            default_lang: Lang::En,
            shop: Shop::default(),
            intents_dir: "intents".into(),
            flows_dir: "flows".into(),
        }
    }
}

impl Config {
    /// Reads `file` if given, then applies environment overrides. Errors name
    /// `file:line:col`.
    pub fn load(file: Option<&Path>) -> Result<Config, String> {
        let raw = match file {
            None => Raw::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                serde_saphyr::from_str::<Raw>(&text).map_err(|e| {
                    let (l, c) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
                    format!("{}:{l}:{c}: error: {}", path.display(), yaml_message(&e))
                })?
            }
        };
        let env = |key: &str| std::env::var(format!("DESTEK_{key}")).ok();
        let mut c = Config::default();
        if let Some(l) = env("DEFAULT_LANG").or(raw.default_lang) {
            c.default_lang = Lang::parse(&l)
                .ok_or_else(|| format!("default_lang: `{l}` is not one of tr, fa, en"))?;
        }
        if let Some(d) = env("INTENTS_DIR").or(raw.intents_dir) {
            c.intents_dir = d.into();
        }
        if let Some(d) = env("FLOWS_DIR").or(raw.flows_dir) {
            c.flows_dir = d.into();
        }
        if let Some(shop) = raw.shop {
            c.shop = shop;
        }
        Ok(c)
    }

    /// What the pack is compiled against.
    pub fn pack_options(&self) -> crate::pack::Options {
        crate::pack::Options {
            default_lang: self.default_lang,
            shop: self.shop.clone(),
        }
    }
}
