//! `destek.yaml` (design §8). Every key is optional and can be overridden by a
//! `DESTEK_<SECTION>_<KEY>` environment variable. Secrets (tokens) come only from the
//! environment or from a file named by a `*_file` key, never from the YAML itself, so the
//! configuration can be committed and shown without leaking them.

mod platforms;
mod setting;

use crate::lang::Lang;
use crate::pack::diag::yaml_message;
use crate::shop::Shop;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;
use setting::{Setting, env_bool, env_number};
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    default_lang: Option<Spanned<String>>,
    intents_dir: Option<String>,
    flows_dir: Option<String>,
    storage: Option<RawStorage>,
    web: Option<RawWeb>,
    telegram: Option<RawTelegram>,
    handoff: Option<RawHandoff>,
    orders: Option<RawOrders>,
    shop: Option<Shop>,
    log: Option<RawLog>,
    notices: Option<crate::notices::settings::RawNotices>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    /// `text` (default) or `json`.
    format: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    bind: Option<String>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    per_ip_per_minute: Option<u32>,
    per_conversation_per_minute: Option<u32>,
    admin_token_file: Option<String>,
    admin_token: Option<IgnoredAny>,
    /// Reload the pack when its files change (default true).
    watch: Option<bool>,
    /// Reverse proxies (CIDR blocks) whose forwarded-for headers are believed.
    #[serde(default)]
    trusted_proxies: Vec<Spanned<String>>,
    sockets_per_conversation: Option<u32>,
    sockets_per_ip: Option<u32>,
    socket_idle_seconds: Option<u32>,
    /// Serve the demo shop page at `/` (default: only when `orders.source` is sqlite).
    demo_page: Option<bool>,
    /// Where customers' attachments are kept (default: beside the SQLite file).
    attachments_dir: Option<String>,
    /// The largest attachment, in MB (default 10).
    attachment_max_mb: Option<u32>,
    /// The server's public address, for the signed attachment URLs of webhook events.
    public_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHandoff {
    agent_token_file: Option<String>,
    /// Refused with a clear error: secrets do not belong in the YAML.
    agent_token: Option<IgnoredAny>,
    webhook_url: Option<String>,
    secret_file: Option<String>,
    secret: Option<IgnoredAny>,
    /// `mon: "09:00-18:00"`, … `sun: closed`.
    business_hours: Option<crate::pack::raw::Entries<String, String>>,
    timezone: Option<String>,
    #[serde(default)]
    holidays: Vec<String>,
    expected_wait_minutes: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTelegram {
    /// Refused with a clear error: secrets do not belong in the YAML.
    token: Option<IgnoredAny>,
    token_file: Option<String>,
    api_url: Option<String>,
    mode: Option<String>,
    webhook_url: Option<String>,
    secret_token: Option<IgnoredAny>,
    secret_token_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrders {
    source: Option<Spanned<String>>,
    base_url: Option<String>,
    token_file: Option<String>,
    token: Option<IgnoredAny>,
    timeout_ms: Option<u64>,
    /// WooCommerce: the REST API key pair.
    consumer_key_file: Option<String>,
    consumer_secret_file: Option<String>,
    consumer_key: Option<IgnoredAny>,
    consumer_secret: Option<IgnoredAny>,
    /// WooCommerce: keys in the query string instead of Basic auth.
    query_string_auth: Option<bool>,
    /// Shopify: the Admin API version (defaults to the pinned one).
    api_version: Option<String>,
    /// Seed the demo orders into an empty SQLite order table (default: only when the
    /// source is sqlite).
    seed_demo: Option<bool>,
    /// Bearer token of `POST /api/v1/orders/{id}/events` (proactive notices).
    events_token_file: Option<String>,
    events_token: Option<IgnoredAny>,
}

/// Where order data comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum OrdersSource {
    /// The embedded database (the storage file), seeded with demo orders on first start.
    Sqlite,
    /// The shop's own API (design §7).
    Http {
        base_url: String,
        token: Option<String>,
        timeout_ms: u64,
    },
    /// Demo orders in memory, forgotten on exit.
    Memory,
    /// A WooCommerce shop's REST API v3.
    WooCommerce(crate::orders::woocommerce::Settings),
    /// A Shopify shop's GraphQL Admin API.
    Shopify(crate::orders::shopify::Settings),
}

impl OrdersSource {
    /// The short order numbers this backend's shops use, counted only in context (see
    /// `entities`): WooCommerce numbers from 1, Shopify names from #1001.
    pub fn short_order_formats(&self) -> Vec<String> {
        match self {
            OrdersSource::WooCommerce(_) => {
                vec![crate::orders::woocommerce::SHORT_ORDER_FORMAT.to_owned()]
            }
            OrdersSource::Shopify(_) => vec![crate::orders::shopify::SHORT_ORDER_FORMAT.to_owned()],
            _ => Vec::new(),
        }
    }
}

#[derive(Clone)]
pub struct Config {
    pub default_lang: Lang,
    pub shop: Shop,
    pub intents_dir: PathBuf,
    pub flows_dir: PathBuf,
    /// `sqlite://PATH`.
    pub storage_url: String,
    pub bind: String,
    pub allowed_origins: Vec<String>,
    pub trusted_proxies: Vec<crate::web::proxy::Cidr>,
    pub rate: crate::web::rate::RateConfig,
    pub sockets: crate::web::live::SocketLimits,
    pub agent_token: Option<String>,
    pub admin_token: Option<String>,
    /// Reload the pack when its files change.
    pub watch: bool,
    pub orders: OrdersSource,
    pub webhook: Option<crate::handoff::WebhookSettings>,
    pub hours: Option<crate::handoff::hours::BusinessHours>,
    pub wait_minutes: u32,
    /// Log lines as JSON.
    pub json_logs: bool,
    /// The Telegram channel; on when a bot token is set.
    pub telegram: Option<crate::telegram::Settings>,
    /// Serve the demo shop page at `/`.
    pub demo_page: bool,
    /// Seed demo orders into an empty SQLite order table.
    pub seed_demo: bool,
    /// Customers' attachments.
    pub attachments: crate::web::attachments::Settings,
    /// Proactive notices (`notices:`, `orders.events_token_file`).
    pub notices: crate::notices::Settings,
}

// Hand-written so a token can never reach a log through `{:?}`.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("default_lang", &self.default_lang)
            .field("intents_dir", &self.intents_dir)
            .field("flows_dir", &self.flows_dir)
            .field("storage_url", &redact_url(&self.storage_url))
            .field("bind", &self.bind)
            .field("allowed_origins", &self.allowed_origins)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("agent_token", &self.agent_token.as_ref().map(|_| "<set>"))
            .field("telegram", &self.telegram)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            default_lang: Lang::En,
            shop: Shop::default(),
            intents_dir: "intents".into(),
            flows_dir: "flows".into(),
            storage_url: "sqlite://destek.db".into(),
            bind: "127.0.0.1:8080".into(),
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            rate: Default::default(),
            sockets: Default::default(),
            agent_token: None,
            admin_token: None,
            watch: true,
            orders: OrdersSource::Sqlite,
            webhook: None,
            hours: None,
            wait_minutes: 5,
            json_logs: false,
            telegram: None,
            demo_page: true,
            seed_demo: true,
            attachments: Default::default(),
            notices: crate::notices::Settings::default(),
        }
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A storage URL fit for logs: the password of `scheme://user:password@host` and any
/// `password=` parameter replaced.
pub fn redact_url(url: &str) -> String {
    if url.contains("password=") {
        return "<a URL with a password>".into();
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!("{scheme}://{}:***{}", &rest[..colon], &rest[at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

fn secret_in_yaml(key: &str, env: &str) -> String {
    format!(
        "`{key}` is a secret and is not read from the configuration file: set {env} or `{key}_file`"
    )
}

fn read_secret(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| format!("{path}: {e}"))
}

/// The `telegram:` section: the channel is on when a token is found (teloxide's
/// `TELOXIDE_TOKEN` is honoured too).
fn telegram(
    raw: RawTelegram,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<crate::telegram::Settings>, String> {
    use crate::telegram::{Mode, Settings};
    if raw.token.is_some() {
        return Err(secret_in_yaml("telegram.token", "DESTEK_TELEGRAM_TOKEN"));
    }
    if raw.secret_token.is_some() {
        return Err(secret_in_yaml(
            "telegram.secret_token",
            "DESTEK_TELEGRAM_SECRET_TOKEN",
        ));
    }
    let token = match (
        env("TELEGRAM_TOKEN").or_else(|| std::env::var("TELOXIDE_TOKEN").ok()),
        raw.token_file,
    ) {
        (Some(t), _) => Some(t),
        (None, Some(path)) => Some(read_secret(&path)?),
        (None, None) => None,
    }
    .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Ok(None);
    };
    let mut s = Settings::new(token);
    s.api_url = env("TELEGRAM_API_URL").or(raw.api_url);
    if let Some(url) = &s.api_url {
        reqwest::Url::parse(url).map_err(|e| format!("telegram.api_url: `{url}`: {e}"))?;
    }
    s.mode = match env("TELEGRAM_MODE").or(raw.mode).as_deref() {
        None | Some("polling") => Mode::Polling,
        Some("webhook") => Mode::Webhook,
        Some(other) => {
            return Err(format!(
                "telegram.mode (DESTEK_TELEGRAM_MODE): `{other}` is not one of polling, webhook"
            ));
        }
    };
    s.webhook_url = env("TELEGRAM_WEBHOOK_URL").or(raw.webhook_url);
    if let Some(url) = &s.webhook_url {
        reqwest::Url::parse(url).map_err(|e| format!("telegram.webhook_url: `{url}`: {e}"))?;
    }
    s.secret_token = match (env("TELEGRAM_SECRET_TOKEN"), raw.secret_token_file) {
        (Some(t), _) => Some(t),
        (None, Some(path)) => Some(read_secret(&path)?),
        (None, None) => None,
    }
    .filter(|t| !t.is_empty());
    if s.mode == Mode::Webhook {
        // Telegram's rule for the secret: 1-256 of A-Z a-z 0-9 _ -.
        let ok = s.secret_token.as_deref().is_some_and(|t| {
            t.len() <= 256
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        if !ok {
            return Err(
                "telegram.mode webhook needs a secret token of 1-256 characters \
                 A-Z a-z 0-9 _ - (set DESTEK_TELEGRAM_SECRET_TOKEN or \
                 `telegram.secret_token_file`)"
                    .into(),
            );
        }
    }
    Ok(Some(s))
}

impl Config {
    /// Reads `file` if given, then applies environment overrides. Errors name
    /// `file:line:col`.
    pub fn load(file: Option<&Path>) -> Result<Config, String> {
        let raw = match file {
            None => Raw::default(),
            Some(path) => {
                let text = crate::textfile::read(path).map_err(|e| e.to_string())?;
                serde_saphyr::from_str::<Raw>(&text).map_err(|e| {
                    let (l, c) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
                    format!("{}:{l}:{c}: error: {}", path.display(), yaml_message(&e))
                })?
            }
        };
        for (key, value) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("DESTEK_") && value.to_str().is_none() {
                return Err(format!("{key}: the value is not valid UTF-8"));
            }
        }
        let env = |key: &str| std::env::var(format!("DESTEK_{key}")).ok();
        let mut c = Config::default();
        if let Some(l) = Setting::pick(&env, "DEFAULT_LANG", raw.default_lang) {
            c.default_lang = Lang::parse(&l.value).ok_or_else(|| {
                l.error(
                    file,
                    "default_lang",
                    format!("`{}` is not one of tr, fa, en", l.value),
                )
            })?;
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
        let storage = raw.storage.unwrap_or_default();
        let env_url = env("STORAGE_URL");
        let from_env = env_url.is_some();
        if let Some(url) = env_url.or(storage.url) {
            if is_postgres(&url) {
                let parsed = url.parse::<tokio_postgres::Config>().map_err(|e| {
                    format!(
                        "storage.url: `{}`: {}",
                        redact_url(&url),
                        crate::store::postgres::error_text(&e)
                    )
                })?;
                if parsed.get_password().is_some() && !from_env {
                    return Err(
                        "storage.url: the database password is a secret and is not read \
                                from the configuration file: put the whole URL in \
                                DESTEK_STORAGE_URL"
                            .into(),
                    );
                }
            } else if !url.starts_with("sqlite://") {
                return Err(format!(
                    "storage.url: `{}` is not supported (use sqlite://PATH or \
                     postgres://USER@HOST:PORT/DATABASE)",
                    redact_url(&url)
                ));
            }
            c.storage_url = url;
        }
        let web = raw.web.unwrap_or_default();
        if let Some(b) = env("WEB_BIND").or(web.bind) {
            c.bind = b;
        }
        c.allowed_origins = match env("WEB_ALLOWED_ORIGINS") {
            Some(list) => list
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            None => web.allowed_origins,
        };
        c.trusted_proxies = Setting::pick_list(&env, "WEB_TRUSTED_PROXIES", web.trusted_proxies)
            .iter()
            .filter(|p| !p.value.trim().is_empty())
            .map(|p| {
                p.value
                    .parse()
                    .map_err(|e| p.error(file, "web.trusted_proxies", e))
            })
            .collect::<Result<_, String>>()?;
        if let Some(n) = env_number("WEB_PER_IP_PER_MINUTE", &env)?.or(web.per_ip_per_minute) {
            c.rate.per_ip_per_minute = n;
        }
        if let Some(n) =
            env_number("WEB_PER_CONVERSATION_PER_MINUTE", &env)?.or(web.per_conversation_per_minute)
        {
            c.rate.per_conversation_per_minute = n;
        }
        if web.admin_token.is_some() {
            return Err(secret_in_yaml("web.admin_token", "DESTEK_WEB_ADMIN_TOKEN"));
        }
        c.admin_token = match (env("WEB_ADMIN_TOKEN"), web.admin_token_file) {
            (Some(t), _) => Some(t),
            (None, Some(path)) => Some(read_secret(&path)?),
            (None, None) => None,
        }
        .filter(|t| !t.is_empty());
        if let Some(n) =
            env_number("WEB_SOCKETS_PER_CONVERSATION", &env)?.or(web.sockets_per_conversation)
        {
            c.sockets.per_conversation = n;
        }
        if let Some(n) = env_number("WEB_SOCKETS_PER_IP", &env)?.or(web.sockets_per_ip) {
            c.sockets.per_ip = n;
        }
        if let Some(n) = env_number("WEB_SOCKET_IDLE_SECONDS", &env)?.or(web.socket_idle_seconds) {
            c.sockets.idle = std::time::Duration::from_secs(u64::from(n));
        }
        if let Some(w) = env_bool("WEB_WATCH", &env)?.or(web.watch) {
            c.watch = w;
        }
        let handoff = raw.handoff.unwrap_or_default();
        if handoff.agent_token.is_some() {
            return Err(secret_in_yaml(
                "handoff.agent_token",
                "DESTEK_HANDOFF_AGENT_TOKEN",
            ));
        }
        if handoff.secret.is_some() {
            return Err(secret_in_yaml("handoff.secret", "DESTEK_HANDOFF_SECRET"));
        }
        c.agent_token = match (env("HANDOFF_AGENT_TOKEN"), handoff.agent_token_file) {
            (Some(t), _) => Some(t),
            (None, Some(path)) => Some(read_secret(&path)?),
            (None, None) => None,
        }
        .filter(|t| !t.is_empty());
        if let Some(url) = env("HANDOFF_WEBHOOK_URL").or(handoff.webhook_url) {
            let secret = match (env("HANDOFF_SECRET"), &handoff.secret_file) {
                (Some(s), _) => s,
                (None, Some(path)) => read_secret(path)?,
                (None, None) => {
                    return Err("handoff.webhook_url needs a signing secret: set DESTEK_HANDOFF_SECRET or handoff.secret_file".into());
                }
            };
            c.webhook = Some(crate::handoff::WebhookSettings {
                url,
                secret,
                timeout: crate::handoff::outbox::DELIVERY_TIMEOUT,
            });
        }
        if let Some(w) = handoff.expected_wait_minutes {
            c.wait_minutes = w;
        }
        let handoff_tz = handoff.timezone.clone();
        if let Some(days) = handoff.business_hours {
            let tz = env("HANDOFF_TIMEZONE")
                .or(handoff.timezone)
                .unwrap_or_else(|| "UTC".into());
            c.hours = Some(crate::handoff::hours::BusinessHours::parse(
                &tz,
                &days.0,
                &handoff.holidays,
                c.wait_minutes,
            )?);
        }
        let format = Setting::pick(&env, "LOG_FORMAT", raw.log.and_then(|l| l.format));
        c.json_logs = match format.as_ref().map(|f| f.value.as_str()) {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                let msg = format!("`{other}` is not text or json");
                return Err(format
                    .as_ref()
                    .map_or(msg.clone(), |f| f.error(file, "log.format", &msg)));
            }
        };
        let orders = raw.orders.unwrap_or_default();
        if orders.token.is_some() {
            return Err(secret_in_yaml("orders.token", "DESTEK_ORDERS_TOKEN"));
        }
        let seed_demo = orders.seed_demo;
        crate::notices::settings::token_in_yaml(&orders.events_token)?;
        let events_token = match (env("ORDERS_EVENTS_TOKEN"), &orders.events_token_file) {
            (Some(t), _) => Some(t),
            (None, Some(path)) => Some(read_secret(path)?),
            (None, None) => None,
        };
        let shop_tz = env("HANDOFF_TIMEZONE").or(handoff_tz);
        c.notices = crate::notices::settings::from_raw(
            raw.notices,
            events_token,
            shop_tz.as_deref(),
            &env,
        )?;
        let source = Setting::pick(&env, "ORDERS_SOURCE", orders.source.clone());
        c.orders = match source.as_ref().map(|s| s.value.as_str()) {
            None | Some("sqlite") => OrdersSource::Sqlite,
            Some("memory") => OrdersSource::Memory,
            Some("http") => OrdersSource::Http {
                base_url: env("ORDERS_BASE_URL")
                    .or(orders.base_url)
                    .ok_or("orders.source http needs orders.base_url")?,
                token: match (env("ORDERS_TOKEN"), orders.token_file) {
                    (Some(t), _) => Some(t),
                    (None, Some(path)) => Some(read_secret(&path)?),
                    (None, None) => None,
                },
                timeout_ms: orders.timeout_ms.unwrap_or(3_000),
            },
            Some("woocommerce") => platforms::woocommerce(orders, &env)?,
            Some("shopify") => platforms::shopify(orders, &env)?,
            Some(other) => {
                let msg =
                    format!("`{other}` is not one of sqlite, http, memory, woocommerce, shopify");
                return Err(source
                    .as_ref()
                    .map_or(msg.clone(), |s| s.error(file, "orders.source", &msg)));
            }
        };
        if c.postgres_url().is_some() && c.orders == OrdersSource::Sqlite {
            return Err(
                "orders.source: with a PostgreSQL storage.url there is no SQLite file \
                        for orders: set orders.source to http (the shop's API) or memory \
                        (demo orders)"
                    .into(),
            );
        }
        c.telegram = telegram(raw.telegram.unwrap_or_default(), &env)?;
        // The demo page and demo orders belong to a trial; with the shop's own orders
        // they are off unless asked for.
        let trial = c.orders == OrdersSource::Sqlite;
        c.demo_page = env_bool("WEB_DEMO_PAGE", &env)?
            .or(web.demo_page)
            .unwrap_or(trial);
        c.seed_demo = env_bool("ORDERS_SEED_DEMO", &env)?
            .or(seed_demo)
            .unwrap_or(trial);
        c.attachments.dir = match env("WEB_ATTACHMENTS_DIR").or(web.attachments_dir) {
            Some(d) => Some(d.into()),
            None if c.postgres_url().is_none() => {
                let db = c.sqlite_path();
                let stem = db
                    .file_stem()
                    .map_or("destek".into(), |s| s.to_string_lossy().into_owned());
                Some(db.with_file_name(format!("{stem}-attachments")))
            }
            None => None,
        };
        if let Some(mb) = env_number("WEB_ATTACHMENT_MAX_MB", &env)?.or(web.attachment_max_mb) {
            c.attachments.max_bytes = mb as usize * 1024 * 1024;
        }
        c.attachments.public_url = env("WEB_PUBLIC_URL").or(web.public_url);
        Ok(c)
    }

    /// What the pack is compiled against.
    pub fn pack_options(&self) -> crate::pack::Options {
        crate::pack::Options {
            default_lang: self.default_lang,
            shop: self.shop.clone(),
            short_order_formats: self.orders.short_order_formats(),
        }
    }

    /// The PostgreSQL URL of `storage.url`, when the store is PostgreSQL.
    pub fn postgres_url(&self) -> Option<&str> {
        is_postgres(&self.storage_url).then_some(self.storage_url.as_str())
    }

    /// The SQLite file of `storage.url`.
    pub fn sqlite_path(&self) -> PathBuf {
        PathBuf::from(
            self.storage_url
                .strip_prefix("sqlite://")
                .unwrap_or(&self.storage_url),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn storage_urls_are_redacted_for_logs() {
        assert_eq!(
            redact_url("postgres://destek:hunter2@db:5432/destek"),
            "postgres://destek:***@db:5432/destek"
        );
        assert_eq!(
            redact_url("postgres://destek@db/destek"),
            "postgres://destek@db/destek"
        );
        assert_eq!(redact_url("sqlite://destek.db"), "sqlite://destek.db");
        assert!(!redact_url("postgres://db/destek?password=x").contains('x'));
    }
}
