//! `destek serve` refuses a configuration it cannot read, naming what to fix.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `destek serve` with one override; returns its exit code (`None` if it was still
/// running after 10 s, i.e. it started) and its stderr.
fn serve_with(key: &str, value: &str) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_destek"));
    cmd.arg("serve");
    for (k, _) in std::env::vars() {
        if k.starts_with("DESTEK_") {
            cmd.env_remove(k);
        }
    }
    let db = std::env::temp_dir().join(format!("destek-config-{}.db", std::process::id()));
    let mut child = cmd
        .env("DESTEK_WEB_BIND", "127.0.0.1:0")
        .env("DESTEK_ORDERS_SOURCE", "memory")
        .env("DESTEK_STORAGE_URL", format!("sqlite://{}", db.display()))
        .env(key, value)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run destek");
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
    (code, stderr)
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
        assert!(code.is_some(), "{key}={value}: the server started");
        assert_ne!(code, Some(0), "{key}={value}");
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
