//! `destek serve`: builds the state from the configuration and runs the HTTP server until
//! Ctrl-C or SIGTERM, finishing the requests in flight.

use crate::bot::Bot;
use crate::config::{Config, OrdersSource};
use crate::orders::http::{HttpOrders, HttpOrdersConfig};
use crate::orders::sqlite::SqliteOrders;
use crate::orders::{InMemoryOrders, OrderBackend, today_utc};
use crate::store::Store;
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;
use crate::web::{self, AppState, WebSettings};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Opens the store `storage.url` names: PostgreSQL (migrated on connect) or the SQLite
/// file.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, String> {
    match config.postgres_url() {
        Some(url) => {
            let store = PgStore::connect(url)
                .await
                .map_err(|e| format!("{}: {e}", crate::config::redact_url(url)))?;
            Ok(store)
        }
        None => {
            let db = config.sqlite_path();
            let store = SqliteStore::open(&db).map_err(|e| format!("{}: {e}", db.display()))?;
            Ok(store)
        }
    }
}

/// Builds everything `serve` needs from the configuration.
pub async fn state(config: &Config, bot: Bot) -> Result<AppState, String> {
    let store = open_store(config).await?;
    let orders: Arc<dyn OrderBackend> = match &config.orders {
        OrdersSource::Sqlite => {
            if config.postgres_url().is_some() {
                return Err("orders.source sqlite needs a sqlite:// storage.url".into());
            }
            let db = config.sqlite_path();
            let orders = SqliteOrders::open(&db).map_err(|e| format!("{}: {e}", db.display()))?;
            let seeded = if config.seed_demo {
                orders
                    .seed_demo_if_empty(today_utc())
                    .map_err(|e| format!("seeding demo orders: {e}"))?
            } else {
                0
            };
            if seeded > 0 {
                println!("seeded {seeded} demo orders into {}", db.display());
            }
            Arc::new(orders)
        }
        OrdersSource::Memory => Arc::new(InMemoryOrders::demo(today_utc())),
        OrdersSource::Http {
            base_url,
            token,
            timeout_ms,
        } => {
            let mut c = HttpOrdersConfig::new(base_url.clone());
            c.token = token.clone();
            c.timeout = Duration::from_millis(*timeout_ms);
            Arc::new(HttpOrders::new(c).map_err(|e| e.to_string())?)
        }
        OrdersSource::WooCommerce(settings) => Arc::new(
            crate::orders::woocommerce::WooCommerce::new(settings.clone())
                .map_err(|e| e.to_string())?,
        ),
        OrdersSource::Shopify(settings) => Arc::new(
            crate::orders::shopify::Shopify::new(settings.clone()).map_err(|e| e.to_string())?,
        ),
    };
    Ok(AppState::new(
        bot,
        store,
        orders,
        web::rate::RateLimits::new(config.rate),
        WebSettings {
            allowed_origins: config.allowed_origins.clone(),
            agent_token: config.agent_token.clone(),
            webhook: config.webhook.clone(),
            hours: config.hours.clone(),
            wait_minutes: config.wait_minutes,
            admin_token: config.admin_token.clone(),
            pack: pack_source(config),
            trusted_proxies: config.trusted_proxies.clone(),
            sockets: config.sockets,
            attachments: config.attachments.clone(),
            no_demo_page: !config.demo_page,
            notices: config.notices.clone(),
        },
    ))
}

/// The pack's directories, when the server runs from them rather than the embedded pack.
fn pack_source(config: &Config) -> Option<web::reload::PackSource> {
    (config.intents_dir.is_dir() || config.flows_dir.is_dir()).then(|| web::reload::PackSource {
        intents_dir: config.intents_dir.clone(),
        flows_dir: config.flows_dir.clone(),
        options: config.pack_options(),
    })
}

pub async fn serve(config: Config, bot: Bot) -> Result<(), String> {
    let state = state(&config, bot).await?;
    let listener = crate::listen::listen(&config.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let outbox = config.webhook.clone().map(|settings| {
        let store = Arc::clone(&state.shared().store);
        let mut stop = stop_rx.clone();
        tokio::spawn(crate::handoff::outbox::run(store, settings, async move {
            let _ = stop.wait_for(|s| *s).await;
        }))
    });
    let notices = {
        let mut stop = stop_rx.clone();
        tokio::spawn(crate::notices::deliver::run(state.clone(), async move {
            let _ = stop.wait_for(|s| *s).await;
        }))
    };
    if let Some(source) = pack_source(&config) {
        if config.watch {
            let mut stop = stop_rx.clone();
            tokio::spawn(web::reload::watch(
                state.clone(),
                source.clone(),
                Duration::from_millis(500),
                Duration::from_millis(300),
                async move {
                    let _ = stop.wait_for(|s| *s).await;
                },
            ));
        }
        #[cfg(unix)]
        {
            let state = state.clone();
            if let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            {
                tokio::spawn(async move {
                    while hup.recv().await.is_some() {
                        let reloaded =
                            web::reload::reload_off_runtime(state.clone(), source.clone()).await;
                        if let Err(e) = reloaded {
                            crate::logging::error(e);
                        }
                    }
                });
            }
        }
    }
    tokio::spawn(web::live_bridge::run(state.clone()));
    println!("listening on http://{addr}");
    warn_if_handoffs_reach_no_one(&state, &config).await;
    // Kept alive for the server's lifetime: dropping it stops polling.
    let telegram = match &config.telegram {
        Some(settings) => Some(crate::telegram::start(state.clone(), settings).await?),
        None => None,
    };
    let mut app = web::app(state);
    if let Some(hook) = telegram.as_ref().and_then(|t| t.webhook.clone()) {
        app = app.merge(hook);
    }
    if let Some(settings) = &config.telegram {
        let mode = match settings.mode {
            crate::telegram::Mode::Polling => "long polling",
            crate::telegram::Mode::Webhook => "webhook",
        };
        println!("telegram: {mode}");
    }
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string());
    // Requests are drained; now let the outbox make its last pass.
    let _ = stop_tx.send(true);
    if let Some(task) = outbox {
        let _ = task.await;
    }
    let _ = notices.await;
    served
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    println!("shutting down: finishing requests in flight");
}

/// Says at start where handoffs go, and warns when they can reach no one.
async fn warn_if_handoffs_reach_no_one(state: &AppState, config: &Config) {
    if config.webhook.is_some() {
        return;
    }
    match state.shared().store.inbox().agents().await {
        Ok(agents) if agents.is_empty() => {
            let msg = "handoffs reach no one: there is no handoff.webhook_url and no agent account; \
                       add one with `destek agents add NAME` and answer at /agent \
                       (customers are told nobody is online meanwhile)";
            eprintln!("warning: {msg}");
            crate::logging::warn(msg);
        }
        Ok(agents) => println!(
            "handoffs go to the inbox at /agent ({} agent account{}); customers hear someone is online only while an agent has it open",
            agents.len(),
            if agents.len() == 1 { "" } else { "s" }
        ),
        Err(e) => crate::logging::warn(format!("cannot list agent accounts: {e}")),
    }
}
