//! The `destek` command line (design §4): check, test, chat, explain, eval.

use crate::bot::Bot;
use crate::config::Config;
use crate::convtest::{self, Report};
use crate::dialogue::{Conversation, Input, Outcome};
use crate::engine;
use crate::eval;
use crate::lang::Lang;
use crate::matcher::Decision;
use crate::orders::InMemoryOrders;
use crate::pack::{self, Severity};
use clap::{Parser, Subcommand};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "destek",
    version,
    about = "A customer-service bot for online shops"
)]
struct Cli {
    /// Configuration file (destek.yaml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server: the site chat API, the widget and the demo page.
    Serve,
    /// Manage the order database.
    Orders {
        #[command(subcommand)]
        command: OrdersCommand,
    },
    /// List handoff webhook deliveries (undelivered ones unless --all), or retry them.
    Handoffs {
        /// Show delivered ones too.
        #[arg(long)]
        all: bool,
        #[command(subcommand)]
        command: Option<HandoffsCommand>,
    },
    /// Manage the agent accounts of the built-in inbox (`/agent`).
    Agents {
        #[command(subcommand)]
        command: crate::agents::AgentsCommand,
    },
    /// Validate the YAML pack and configuration; every problem as file:line:col.
    Check,
    /// List proactive notices not yet delivered (all with --all).
    Notices {
        /// Show sent and skipped ones too.
        #[arg(long)]
        all: bool,
    },
    /// Record order events from a CSV file (order_id,event,…); a running server tells the
    /// customers (see docs/notices.md).
    Notify { file: PathBuf },
    /// Run every intent example and conversation test through the engine.
    Test {
        /// Directory of conversation tests.
        #[arg(long, default_value = "tests/conversations")]
        conversations: PathBuf,
    },
    /// Talk to the bot in the terminal (demo orders, nothing stored).
    Chat {
        /// The language your client would announce (tr, fa, en).
        #[arg(long)]
        lang: Option<String>,
    },
    /// Show how a message is normalised, matched and scored.
    Explain {
        /// The customer message.
        text: Vec<String>,
    },
    /// Measure accuracy on labelled messages (JSON lines with text, intent, lang).
    Eval {
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// After the report, explain every message the bot got wrong: the scores of each
        /// tier and the nearest examples.
        #[arg(long)]
        explain_errors: bool,
    },
}

#[derive(Subcommand, Debug)]
enum HandoffsCommand {
    /// Make undelivered deliveries due now (one by id, or all); a running server sends them.
    Retry { id: Option<String> },
}

#[derive(Subcommand, Debug)]
enum OrdersCommand {
    /// Import orders from a CSV file into the order database (see docs/orders.md).
    Import { file: PathBuf },
    /// Try one authenticated read from the configured shop (WooCommerce, Shopify) and say
    /// what is wrong: a bad key, a missing scope, a wrong URL.
    Ping,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("destek: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let config = Config::load(cli.config.as_deref())?;
    // Every command logs the same way (masked, `RUST_LOG`), not only `serve`.
    crate::logging::init(config.json_logs);
    match cli.command {
        Command::Serve => {
            let bot = load(&config)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(crate::server::serve(config, bot))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Orders {
            command: OrdersCommand::Import { file },
        } => {
            if config.postgres_url().is_some() {
                return Err("with a PostgreSQL store the orders come from orders.source http or memory; there is no order database to import into".into());
            }
            let db = config.sqlite_path();
            let orders = crate::orders::sqlite::SqliteOrders::open(&db)
                .map_err(|e| format!("{}: {e}", db.display()))?;
            let reader =
                std::fs::File::open(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let n = orders
                .import_csv(reader)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            println!("imported {n} orders into {}", db.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Orders {
            command: OrdersCommand::Ping,
        } => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let answer = runtime.block_on(crate::orders::ping::ping(&config.orders));
            println!("{}", answer.map_err(|e| format!("orders ping: {e}"))?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Handoffs { all, command } => handoffs(&config, all, command),
        Command::Agents { command } => crate::agents::command(&config, command),
        Command::Check => check(&config),
        Command::Notices { all } => crate::notices::command::list(&config, all),
        Command::Notify { file } => crate::notices::command::notify(&config, &file),
        Command::Test { conversations } => {
            let bot = load(&config)?;
            let (sources, _) =
                pack::locate(&config.intents_dir, &config.flows_dir).map_err(|e| e.to_string())?;
            let options = config.pack_options();
            let pack = convtest::Pack {
                sources: &sources,
                options: &options,
            };
            test(&bot, pack, &conversations)
        }
        Command::Chat { lang } => {
            let lang = match lang {
                Some(l) => Some(Lang::parse(&l).ok_or(format!("unknown language `{l}`"))?),
                None => None,
            };
            let bot = load(&config)?;
            chat(&bot, lang)
        }
        Command::Explain { text } => {
            let bot = load(&config)?;
            explain(&bot, &text.join(" "));
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval {
            file,
            json,
            explain_errors,
        } => {
            let bot = load(&config)?;
            let text = crate::textfile::read(&file).map_err(|e| e.to_string())?;
            let items = eval::parse_lines(&text).map_err(|e| format!("{}: {e}", file.display()))?;
            let report = eval::evaluate(&bot, &items);
            if json {
                let v = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
                println!("{v}");
            } else {
                print!("{}", report.to_text());
            }
            if explain_errors {
                for item in &items {
                    let (got, _) = eval::predict(&bot, &item.text);
                    if got != item.intent {
                        println!("\n== expected {}, got {got}", item.intent);
                        explain(&bot, &item.text);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Compiles the configured pack; on errors prints them all and fails.
pub fn load(config: &Config) -> Result<Bot, String> {
    let (sources, _) =
        pack::locate(&config.intents_dir, &config.flows_dir).map_err(|e| e.to_string())?;
    let compiled = pack::compile(&sources, &config.pack_options());
    match compiled.bot {
        Some(bot) => Ok(bot),
        None => {
            let errors: Vec<String> = compiled
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(ToString::to_string)
                .collect();
            Err(format!(
                "the pack has errors (run `destek check`):\n{}",
                errors.join("\n")
            ))
        }
    }
}

fn handoffs(
    config: &Config,
    all: bool,
    command: Option<HandoffsCommand>,
) -> Result<ExitCode, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let store = crate::server::open_store(config).await?;
        if let Some(HandoffsCommand::Retry { id }) = command {
            let n = store
                .retry_deliveries(id.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            println!("{n} deliveries due now");
            return Ok(ExitCode::SUCCESS);
        }
        let list = store
            .deliveries(!all, 200)
            .await
            .map_err(|e| e.to_string())?;
        if list.is_empty() {
            println!(
                "{}",
                if all {
                    "no deliveries"
                } else {
                    "no undelivered handoff events"
                }
            );
        }
        let when = |ms: i64| {
            jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
        };
        for d in &list {
            let state = match d.delivered_at {
                Some(t) => format!("delivered {}", when(t)),
                None => format!(
                    "pending, next try {}{}",
                    when(d.next_attempt_at),
                    d.last_error
                        .as_deref()
                        .map(|e| format!(", last error: {e}"))
                        .unwrap_or_default()
                ),
            };
            println!(
                "{}  {:<16} conversation {}  attempts {}  {state}",
                d.id, d.event, d.conversation_id, d.attempts
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Examples that sit closer to another intent than to their own: the operator moves,
/// rewrites or removes them (or adds a keyword). Returns how many were found.
fn example_warnings(bot: &Bot) -> usize {
    let misplaced = bot.matcher.misplaced_examples();
    for (class, lang, text, other, own) in &misplaced {
        let name = |c: usize| {
            bot.intents
                .get(c)
                .map_or(eval::OUT_OF_SCOPE, |i| i.id.as_str())
        };
        println!(
            "warning: example of `{}` ({lang}) \"{text}\" is closer to `{}` ({:.2}) than to its own intent ({own:.2})",
            name(*class),
            name(other.class),
            other.cosine
        );
    }
    misplaced.len()
}

fn check(config: &Config) -> Result<ExitCode, String> {
    let (sources, from) =
        pack::locate(&config.intents_dir, &config.flows_dir).map_err(|e| e.to_string())?;
    let compiled = pack::compile(&sources, &config.pack_options());
    for d in &compiled.diagnostics {
        println!("{d}");
    }
    let errors = compiled
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let mut warnings = compiled.diagnostics.len() - errors;
    match &compiled.bot {
        Some(bot) => {
            warnings += example_warnings(bot);
            println!("{}", orders_summary(&config.orders));
            println!("{}", config.notices.webhook_secrets.summary());
            if config.notices.events_token.is_some() || config.notices.webhook_secrets.any() {
                warnings += crate::notices::render::missing_templates(bot)
                    .iter()
                    .map(|w| println!("{from}: warning: {w}"))
                    .count();
            }
            println!(
                "{from}: {} intents, {} flows, {} templates, {} keywords; {warnings} warnings",
                bot.intents.len(),
                bot.flows.len(),
                bot.templates.len(),
                bot.matcher.keyword_count()
            );
            Ok(ExitCode::SUCCESS)
        }
        None => {
            println!("{from}: {errors} errors, {warnings} warnings");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The order backend `check` found configured (the settings were validated on loading).
fn orders_summary(source: &crate::config::OrdersSource) -> String {
    use crate::config::OrdersSource;
    match source {
        OrdersSource::Sqlite => "orders: the SQLite database".into(),
        OrdersSource::Memory => "orders: demo orders in memory".into(),
        OrdersSource::Http { base_url, .. } => format!("orders: the shop's API at {base_url}"),
        OrdersSource::WooCommerce(s) => format!(
            "orders: WooCommerce at {} (keys set{}; `destek orders ping` tries them)",
            s.base_url,
            if s.query_string_auth {
                ", sent in the query string"
            } else {
                ""
            }
        ),
        OrdersSource::Shopify(s) => format!(
            "orders: Shopify at {}, Admin API {} (token set; `destek orders ping` tries it)",
            s.base_url, s.api_version
        ),
    }
}

fn test(bot: &Bot, pack: convtest::Pack<'_>, dir: &Path) -> Result<ExitCode, String> {
    let mut report = Report::default();
    convtest::check_examples(bot, &mut report);
    let examples = report.examples_recognised + report.example_misses.len();
    for f in &report.example_misses {
        print!("warning: not recognised: {f}");
    }
    println!(
        "{} of {examples} intent examples recognised as their intent",
        report.examples_recognised
    );
    let mut files = 0;
    if dir.is_dir() {
        let sources = pack::read_dirs(&[dir]).map_err(|e| e.to_string())?;
        files = sources.len();
        for s in &sources {
            convtest::run_file_with(bot, Some(pack), s, &mut report);
        }
    } else {
        eprintln!("note: no conversation tests at {}", dir.display());
    }
    for f in &report.failures {
        print!("{f}");
    }
    for (f, reason) in &report.known {
        println!("KNOWN FAILURE {} — {}: {reason}", f.file, f.test);
        for p in f.problems.iter().take(1) {
            println!("  - turn {}: {p}", f.turn.unwrap_or(0));
        }
    }
    for name in &report.fixed {
        println!("FIXED {name}: passes now; remove its known_failure mark");
    }
    if !report.tags.is_empty() {
        println!("behaviours (covers: passed/total):");
        for line in report.tag_lines() {
            println!("  {line}");
        }
    }
    println!(
        "{files} conversation files: {} passed, {} failed, {} known failures",
        report.passed,
        report.failures.len(),
        report.known.len()
    );
    Ok(if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn chat(bot: &Bot, lang: Option<Lang>) -> Result<ExitCode, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    let orders = InMemoryOrders::demo(crate::orders::today_utc());
    let limiter = engine::VerifyLimiter::default();
    let mut conv = Conversation::default();
    let mut buttons: Vec<String> = Vec::new();
    println!(
        "destek chat — type a message; a number picks a button; /reset starts over; /quit or Ctrl-D ends."
    );
    println!(
        "demo orders: 48213977 (e-mail ayse.yilmaz@example.com), SP-77410 (phone ending 4567), 4582193 (phone ending 6789), A77310 (phone ending 0134), TR-55320 (e-mail zeynep.demir@example.com)"
    );
    let stdin = std::io::stdin();
    let mut line = String::new();
    loop {
        print!("you> ");
        let _ = std::io::stdout().flush();
        line.clear();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = line.trim();
        match text {
            "" => continue,
            "/quit" | "/exit" => break,
            "/reset" => {
                conv = Conversation::default();
                buttons.clear();
                println!("(new conversation)");
                continue;
            }
            _ => {}
        }
        let input = match text
            .parse::<usize>()
            .ok()
            .and_then(|n| buttons.get(n.wrapping_sub(1)))
        {
            Some(payload) => Input::payload(payload.clone()),
            None => Input::text(text),
        }
        .with_lang(lang);
        let out = runtime.block_on(engine::turn(bot, &mut conv, &input, &orders, &limiter));
        buttons = print_outcome(&out);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_outcome(out: &Outcome) -> Vec<String> {
    let mut payloads = Vec::new();
    if out.relayed {
        println!("(a person has this conversation; your message goes to them)");
    }
    for r in &out.replies {
        for line in r.text.lines() {
            println!("bot> {line}");
        }
        for b in &r.buttons {
            payloads.push(b.payload.clone());
            println!("     [{}] {}", payloads.len(), b.label);
        }
    }
    if let Some(h) = &out.handoff {
        println!(
            "(handed off to a person: reason {}, intent {}, order {})",
            h.reason,
            h.intent.as_deref().unwrap_or("-"),
            h.order_id.as_deref().unwrap_or("-")
        );
    }
    payloads
}

fn explain(bot: &Bot, text: &str) {
    let (norm, mut class) = engine::classify(bot, text);
    println!("text:        {text}");
    println!("normalised:  {}", norm.folded);
    println!("entity text: {}", norm.entity_text);
    let entities = bot.entities.extract(&norm, None);
    for e in &entities {
        println!("entity:      {:?} {}", e.kind, e.value);
    }
    class.hits.sort_by_key(|h| h.start);
    for h in &class.hits {
        println!(
            "hit:         {:<18} {}{:<24} weight {:.2} at {}{}{}",
            bot.intents[h.intent].id,
            if h.negative { "NOT " } else { "" },
            format!("\"{}\"", bot.matcher.evidence_text(h.evidence)),
            h.weight,
            h.start,
            h.lang.map(|l| format!(" ({l})")).unwrap_or_default(),
            if h.typo { " (after a typo fix)" } else { "" }
        );
    }
    for c in &class.corrections {
        println!("typo:        {} → {}", c.from, c.to);
    }
    println!(
        "stems:       {}",
        norm.folded
            .split(' ')
            .map(|w| crate::stem::stem(w).map_or_else(|| w.to_owned(), |s| s.into_owned()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let oos = bot.matcher.out_of_scope_class();
    for n in bot.matcher.nearest_examples(&norm.folded, 5) {
        let id = bot
            .intents
            .get(n.class)
            .map_or(eval::OUT_OF_SCOPE, |i| i.id.as_str());
        println!(
            "example:     {:<18} {:.2}  \"{}\" ({})",
            id, n.cosine, n.text, n.lang
        );
        debug_assert!(n.class <= oos);
    }
    println!("out of scope similarity {:.2}", class.out_of_scope);
    for s in &class.scores {
        println!(
            "score:       {:<18} {:.2} = keywords {:.2} + examples {:.2} (similarity {:.2}) + entities {:.2}{}{}{}",
            bot.intents[s.intent].id,
            s.score,
            s.keywords,
            s.similarity,
            s.cosine,
            s.entity,
            if s.decisive {
                " (decisive keyword)"
            } else {
                ""
            },
            if s.vetoed {
                " (vetoed by a negative keyword)"
            } else {
                ""
            },
            if s.out_of_scope {
                " (dropped: closer to the out-of-scope examples)"
            } else {
                ""
            }
        );
    }
    let lang = if norm.arabic_script {
        Some(Lang::Fa)
    } else {
        class.lang
    };
    println!(
        "language:    {}",
        lang.map_or("unknown".to_owned(), |l| l.to_string())
    );
    match class.decision {
        Decision::Intent(i) => println!("intent:      {}", bot.intents[i].id),
        Decision::Clarify(a, b) => println!(
            "intent:      too close to call — asks: {} or {}",
            bot.intents[a].id, bot.intents[b].id
        ),
        Decision::None => println!("intent:      {} (fallback)", eval::OUT_OF_SCOPE),
    }
}
