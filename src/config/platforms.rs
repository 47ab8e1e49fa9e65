//! The `orders:` settings of the shop platforms (`source: woocommerce`, `source: shopify`):
//! the shop's address, its keys (from the environment or `*_file` keys only), checked
//! here so that `destek check` and the start name what is wrong.

use super::{OrdersSource, RawOrders, read_secret, secret_in_yaml};
use crate::orders::transport::{Resilience, platform_url};
use crate::orders::{shopify, woocommerce};
use std::time::Duration;

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// `DESTEK_<var>` when set, else the file named by `<key>_file`; empty counts as unset.
fn secret(env: Env<'_>, var: &str, file: Option<&str>) -> Result<Option<String>, String> {
    let value = match (env(var), file) {
        (Some(v), _) => Some(v.trim().to_owned()),
        (None, Some(path)) => Some(read_secret(path)?),
        (None, None) => None,
    };
    Ok(value.filter(|v| !v.is_empty()))
}

fn resilience(raw: &RawOrders) -> Resilience {
    let mut r = Resilience::default();
    if let Some(ms) = raw.timeout_ms {
        r.timeout = Duration::from_millis(ms.max(1));
    }
    r
}

fn base_url(raw: &RawOrders, env: Env<'_>, source: &str, example: &str) -> Result<String, String> {
    let url = env("ORDERS_BASE_URL")
        .or_else(|| raw.base_url.clone())
        .ok_or_else(|| format!("orders.source {source} needs orders.base_url (e.g. {example})"))?;
    platform_url(&url, source).map_err(|e| format!("orders.base_url: {}", e.0))?;
    Ok(url)
}

pub(super) fn woocommerce(raw: RawOrders, env: Env<'_>) -> Result<OrdersSource, String> {
    if raw.consumer_key.is_some() {
        return Err(secret_in_yaml(
            "orders.consumer_key",
            "DESTEK_ORDERS_CONSUMER_KEY",
        ));
    }
    if raw.consumer_secret.is_some() {
        return Err(secret_in_yaml(
            "orders.consumer_secret",
            "DESTEK_ORDERS_CONSUMER_SECRET",
        ));
    }
    let base_url = base_url(&raw, env, "woocommerce", "https://shop.example")?;
    let key = secret(env, "ORDERS_CONSUMER_KEY", raw.consumer_key_file.as_deref())?.ok_or(
        "orders.source woocommerce needs the REST API consumer key: set \
         DESTEK_ORDERS_CONSUMER_KEY or orders.consumer_key_file",
    )?;
    let secret = secret(
        env,
        "ORDERS_CONSUMER_SECRET",
        raw.consumer_secret_file.as_deref(),
    )?
    .ok_or(
        "orders.source woocommerce needs the REST API consumer secret: set \
         DESTEK_ORDERS_CONSUMER_SECRET or orders.consumer_secret_file",
    )?;
    if key.starts_with("cs_") || secret.starts_with("ck_") {
        return Err(
            "the WooCommerce consumer key and secret look swapped: the key starts with ck_, \
             the secret with cs_"
                .into(),
        );
    }
    let query_string_auth = match env("ORDERS_QUERY_STRING_AUTH") {
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => {
                return Err(format!(
                    "DESTEK_ORDERS_QUERY_STRING_AUTH: `{v}` is not true or false"
                ));
            }
        },
        None => raw.query_string_auth.unwrap_or(false),
    };
    Ok(OrdersSource::WooCommerce(woocommerce::Settings {
        resilience: resilience(&raw),
        base_url,
        consumer_key: key,
        consumer_secret: secret,
        query_string_auth,
    }))
}

pub(super) fn shopify(raw: RawOrders, env: Env<'_>) -> Result<OrdersSource, String> {
    if raw.token.is_some() {
        return Err(secret_in_yaml("orders.token", "DESTEK_ORDERS_TOKEN"));
    }
    let base_url = base_url(&raw, env, "shopify", "https://STORE.myshopify.com")?;
    let token = secret(env, "ORDERS_TOKEN", raw.token_file.as_deref())?.ok_or(
        "orders.source shopify needs the Admin API access token: set DESTEK_ORDERS_TOKEN \
         or orders.token_file",
    )?;
    let api_version = env("ORDERS_API_VERSION")
        .or_else(|| raw.api_version.clone())
        .unwrap_or_else(|| shopify::API_VERSION.to_owned());
    let well_formed = api_version == "unstable"
        || (api_version.len() == 7
            && api_version.as_bytes()[4] == b'-'
            && api_version
                .bytes()
                .enumerate()
                .all(|(i, b)| i == 4 || b.is_ascii_digit()));
    if !well_formed {
        return Err(format!(
            "orders.api_version: `{api_version}` is not a Shopify API version like {}",
            shopify::API_VERSION
        ));
    }
    Ok(OrdersSource::Shopify(shopify::Settings {
        resilience: resilience(&raw),
        base_url,
        token,
        api_version,
    }))
}
