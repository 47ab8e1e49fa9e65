//! `destek serve` refuses a configuration it cannot read, naming what to fix.

use std::process::Command;

fn serve_with(key: &str, value: &str) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_destek"));
    cmd.arg("serve");
    for (k, _) in std::env::vars() {
        if k.starts_with("DESTEK_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .env("DESTEK_WEB_BIND", "127.0.0.1:0")
        .env("DESTEK_ORDERS_SOURCE", "memory")
        .env(
            "DESTEK_STORAGE_URL",
            format!(
                "sqlite://{}",
                std::env::temp_dir()
                    .join(format!("destek-config-{}.db", std::process::id()))
                    .display()
            ),
        )
        .env(key, value)
        .output()
        .expect("run destek");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Issue 15, item 10: `DESTEK_WEB_PER_IP_PER_MINUTE=lots` started normally with the default
/// limit. Every override that does not parse now stops the start, naming the variable.
#[test]
fn an_unparseable_environment_value_refuses_to_start_naming_the_variable() {
    for (key, value) in [
        ("DESTEK_WEB_PER_IP_PER_MINUTE", "lots"),
        ("DESTEK_WEB_PER_CONVERSATION_PER_MINUTE", "-1"),
        ("DESTEK_WEB_WATCH", "sometimes"),
        ("DESTEK_WEB_TRUSTED_PROXIES", "10.0.0.0/40"),
        ("DESTEK_DEFAULT_LANG", "klingon"),
        ("DESTEK_LOG_FORMAT", "xml"),
        ("DESTEK_ORDERS_SOURCE", "excel"),
    ] {
        let (code, stderr) = serve_with(key, value);
        assert_ne!(code, Some(0), "{key}={value} started");
        assert!(code.is_some(), "{key}={value}: killed by a signal");
        assert!(stderr.contains(key), "{key}={value}: {stderr}");
        assert!(stderr.contains(value), "{key}={value}: {stderr}");
    }
}

/// Issue 15, item 8: a value in `destek.yaml` that does not parse is refused at its
/// `file:line:col`, like a pack error.
#[test]
fn a_bad_value_in_the_configuration_file_is_located() {
    let path = std::env::temp_dir().join(format!("destek-config-{}.yaml", std::process::id()));
    for (yaml, at, key) in [
        ("default_lang: klingon\n", "1:15", "default_lang"),
        (
            "web:\n  trusted_proxies:\n    - 10.0.0.0/8\n    - lots\n",
            "4:7",
            "web.trusted_proxies",
        ),
        ("log:\n  format: xml\n", "2:11", "log.format"),
        ("orders: {source: excel}\n", "1:18", "orders.source"),
    ] {
        std::fs::write(&path, yaml).expect("write");
        let err = destek::config::Config::load(Some(&path)).map(|_| ());
        let expected = format!("{}:{at}: error: {key}: ", path.display());
        assert!(
            err.as_ref().err().is_some_and(|e| e.starts_with(&expected)),
            "{yaml}: {err:?}"
        );
    }
    let _ = std::fs::remove_file(&path);
}
