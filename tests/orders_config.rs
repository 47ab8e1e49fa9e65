//! The settings of `orders.source: woocommerce` / `shopify`: keys only from the environment
//! or files, plain http refused off this machine, a clear error for each mistake from
//! `destek check`, and `destek orders ping` against a WooCommerce stand-in.

#[path = "support/fake_woocommerce.rs"]
mod fake;

use destek::config::{Config, OrdersSource};
use std::path::PathBuf;
use std::process::Command;

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dir(name: &str) -> Dir {
    let d = std::env::temp_dir().join(format!(
        "destek-orders-config-{name}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    Dir(d)
}

fn load(d: &Dir, yaml: &str) -> Result<Config, String> {
    let path = d.0.join("destek.yaml");
    std::fs::write(&path, yaml).expect("write the configuration");
    Config::load(Some(&path))
}

#[test]
fn woocommerce_keys_come_from_files_and_bring_short_order_numbers() {
    let d = dir("woo-files");
    std::fs::write(d.0.join("ck"), format!("{}\n", fake::KEY)).expect("key file");
    std::fs::write(d.0.join("cs"), fake::SECRET).expect("secret file");
    let yaml = format!(
        "orders:\n  source: woocommerce\n  base_url: https://shop.example\n  consumer_key_file: {}\n  consumer_secret_file: {}\n  timeout_ms: 1500\n",
        d.0.join("ck").display(),
        d.0.join("cs").display()
    );
    let config = load(&d, &yaml).expect("valid");
    let OrdersSource::WooCommerce(s) = &config.orders else {
        panic!("not WooCommerce: {:?}", config.orders);
    };
    assert_eq!(s.consumer_key, fake::KEY, "trimmed");
    assert_eq!(s.consumer_secret, fake::SECRET);
    assert_eq!(s.resilience.timeout.as_millis(), 1500);
    assert!(!format!("{config:?}").contains(fake::SECRET));
    assert_eq!(
        config.pack_options().short_order_formats,
        vec![destek::orders::woocommerce::SHORT_ORDER_FORMAT.to_owned()]
    );
}

#[test]
fn each_mistake_is_named() {
    let d = dir("mistakes");
    std::fs::write(d.0.join("ck"), fake::KEY).expect("key file");
    std::fs::write(d.0.join("cs"), fake::SECRET).expect("secret file");
    let keys = format!(
        "  consumer_key_file: {}\n  consumer_secret_file: {}\n",
        d.0.join("ck").display(),
        d.0.join("cs").display()
    );
    let swapped = format!(
        "  consumer_key_file: {}\n  consumer_secret_file: {}\n",
        d.0.join("cs").display(),
        d.0.join("ck").display()
    );
    for (yaml, want) in [
        (
            "orders:\n  source: woocommerce\n  base_url: https://shop.example\n  consumer_key: ck_x\n".to_owned(),
            "DESTEK_ORDERS_CONSUMER_KEY",
        ),
        (
            "orders:\n  source: woocommerce\n  base_url: https://shop.example\n".to_owned(),
            "consumer_key_file",
        ),
        (
            format!("orders:\n  source: woocommerce\n{keys}"),
            "orders.base_url",
        ),
        (
            format!("orders:\n  source: woocommerce\n  base_url: http://shop.example\n{keys}"),
            "https",
        ),
        (
            format!("orders:\n  source: woocommerce\n  base_url: https://shop.example\n{swapped}"),
            "swapped",
        ),
        (
            "orders:\n  source: shopify\n  base_url: https://demo.myshopify.com\n".to_owned(),
            "DESTEK_ORDERS_TOKEN",
        ),
        (
            format!(
                "orders:\n  source: shopify\n  base_url: https://demo.myshopify.com\n  token_file: {}\n  api_version: latest\n",
                d.0.join("ck").display()
            ),
            "api_version",
        ),
        (
            "orders:\n  source: shopify\n  base_url: https://demo.myshopify.com\n  token: shpat_x\n".to_owned(),
            "DESTEK_ORDERS_TOKEN",
        ),
    ] {
        let err = load(&d, &yaml).map(|_| ()).expect_err(&yaml);
        assert!(err.contains(want), "{yaml}: {err}");
        assert!(!err.contains(fake::SECRET), "{err}");
    }
}

#[test]
fn check_with_a_bad_orders_setting_exits_1_naming_it() {
    let d = dir("check");
    let path = d.0.join("destek.yaml");
    std::fs::write(
        &path,
        "orders:\n  source: shopify\n  base_url: http://demo.myshopify.com\n",
    )
    .expect("write");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_destek"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DESTEK_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .arg("--config")
        .arg(&path)
        .arg("check")
        .env("DESTEK_ORDERS_TOKEN", "shpat_abc")
        .output()
        .expect("run destek check");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("orders.base_url") && stderr.contains("https"),
        "{stderr}"
    );
    assert!(!stderr.contains("shpat_abc"));
}

fn ping(base: &str, secret: &str) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_destek"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DESTEK_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .args(["orders", "ping"])
        .env("DESTEK_ORDERS_SOURCE", "woocommerce")
        .env("DESTEK_ORDERS_BASE_URL", base)
        .env("DESTEK_ORDERS_CONSUMER_KEY", fake::KEY)
        .env("DESTEK_ORDERS_CONSUMER_SECRET", secret)
        .output()
        .expect("run destek orders ping");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_ping_says_what_the_shop_answered() {
    let shop = fake::start(vec![fake::order(
        12,
        "12",
        "processing",
        "a@example.com",
        "0555 000 00 00",
    )])
    .await;
    let base = shop.base.clone();
    let (code, stdout, _) = tokio::task::spawn_blocking({
        let base = base.clone();
        move || ping(&base, fake::SECRET)
    })
    .await
    .expect("ping");
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("1 orders") && stdout.contains("12"),
        "{stdout}"
    );

    let (code, _, stderr) = tokio::task::spawn_blocking(move || ping(&base, "cs_wrong"))
        .await
        .expect("ping");
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("401") && stderr.contains("consumer key or secret is wrong"),
        "{stderr}"
    );
    assert!(!stderr.contains("cs_wrong"));
}

/// The order numbers the bot reads with this pack and these backend formats.
fn order_numbers(sources: &[destek::pack::Source], short: &str, text: &str) -> Vec<String> {
    let options = destek::pack::Options {
        short_order_formats: vec![short.to_owned()],
        ..destek::pack::Options::default()
    };
    let bot = destek::pack::compile(sources, &options)
        .bot
        .expect("the pack compiles");
    bot.entities
        .extract(&destek::normalise::normalise(text), None)
        .into_iter()
        .filter(|e| e.kind == destek::entities::EntityKind::OrderNumber)
        .map(|e| e.value)
        .collect()
}

#[test]
fn the_operator_overrides_the_backends_short_format_in_the_pack() {
    let embedded = destek::pack::embedded();
    let woo = destek::orders::woocommerce::SHORT_ORDER_FORMAT;
    assert_eq!(
        order_numbers(&embedded, woo, "siparişim 5522 nerede"),
        ["5522"]
    );
    assert!(order_numbers(&embedded, woo, "2 adet kupa").is_empty());
    // Only two-digit numbers in this shop.
    let overridden: Vec<destek::pack::Source> = embedded
        .iter()
        .map(|s| destek::pack::Source {
            path: s.path.clone(),
            text: if s.path.ends_with("_matching.yaml") {
                s.text.replace(
                    "  order_number:\n",
                    "  order_number:\n    short_formats: [\"[0-9]{2}\"]\n",
                )
            } else {
                s.text.clone()
            },
        })
        .collect();
    assert!(order_numbers(&overridden, woo, "siparişim 5522 nerede").is_empty());
    assert_eq!(
        order_numbers(&overridden, woo, "siparişim 55 nerede"),
        ["55"]
    );
}
