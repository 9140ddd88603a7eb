//! `shimin-desk-cli`: the desk core without a window, for end-to-end tests and operators.
//!
//! Output is JSON, one object per line, on stdout; errors as JSON on stderr (exit code 1).
//! `sync` exits with 3 when mutations remain pending after it. Citizens' personal data
//! (applicant, title, content, history notes) are printed only with `queue --show-personal`.
//!
//! Every exit goes through closing the cache: the SQLCipher connections' worker threads must
//! be finished before the process exits. Exiting with them alive (`process::exit` on an error
//! path, as this tool once did) lets the C runtime's exit handlers — OpenSSL's cleanup among
//! them — free state a worker thread is still using, and about one exit in a few hundred died
//! with "double free or corruption" (issue 16, finding 10).
#![allow(clippy::print_stdout)]

use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use shimin_client::{
    CacheEvent, CacheKey, ClientConfig, Desk, Endpoint, Error, ItemView, Op, QueueQuery, QueueView,
};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "shimin-desk-cli",
    about = "Shimin Desk core without a window",
    after_help = "Credentials (for commands that log in): SHIMIN_USER and SHIMIN_PASSWORD in the \
                  environment, never on the command line. The cache key: --key-hex or SHIMIN_CACHE_KEY.\n\
                  Exit codes: 0 done; 1 error (JSON on stderr); 3 sync finished with mutations still pending."
)]
struct Cli {
    /// Cache file (created if missing).
    #[arg(long, global = true, env = "SHIMIN_CACHE")]
    cache: Option<PathBuf>,
    /// Cache key: 64 hex digits.
    #[arg(long, global = true, env = "SHIMIN_CACHE_KEY", hide_env_values = true)]
    key_hex: Option<String>,
    /// Server base URL; repeat for fallbacks, preferred first.
    #[arg(long = "endpoint", global = true)]
    endpoints: Vec<String>,
    /// Use `http://` endpoints (an intranet the administrator accepts unencrypted, or
    /// loopback); without it only `https://` endpoints are used.
    #[arg(long, global = true)]
    allow_plain_http: bool,
    /// The county's CA certificates (PEM), trusted beside the system's roots.
    #[arg(long, global = true)]
    ca_bundle: Option<PathBuf>,
    #[arg(long, global = true, default_value_t = 1500)]
    connect_timeout_ms: u64,
    #[arg(long, global = true, default_value_t = 15000)]
    poll_ms: u64,
    #[arg(long, global = true, default_value_t = 30000)]
    preferred_retry_ms: u64,
    #[arg(long, global = true, default_value_t = 60000)]
    backoff_max_ms: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Log in, push and pull; print the report.
    Sync,
    /// Print a queue from the cache (no network unless --sync).
    Queue {
        /// mine | unit | overdue | all | due-soon | kind
        #[arg(long, default_value = "unit")]
        view: String,
        /// Item kind for --view kind.
        #[arg(long)]
        kind: Option<String>,
        /// Hours for --view due-soon.
        #[arg(long, default_value_t = 24)]
        hours: u64,
        #[arg(long)]
        search: Option<String>,
        #[arg(long)]
        include_closed: bool,
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        /// Also print applicant (ID number and phone masked), title, content and history notes.
        #[arg(long)]
        show_personal: bool,
        /// Log in and sync first.
        #[arg(long)]
        sync: bool,
    },
    /// Claim every open, unclaimed item of a kind (up to --max), then push.
    ActClaimAll {
        #[arg(long, default_value = "reservation")]
        kind: String,
        #[arg(long, default_value_t = 1000)]
        max: u32,
    },
    /// Enqueue --count notes on open items (durably), then push them.
    Flood {
        #[arg(long)]
        count: u32,
    },
    /// Run the sync loop; print status changes and new items until killed.
    Watch,
    /// Show the outbox (no network): this installation's client id, the next sequence number
    /// and every pending mutation (sequence, mutation id, item, op type, state, when queued),
    /// and how many reveal records wait to be handed in — an operator's view when a desk is
    /// stuck. No personal data.
    Outbox,
}

/// Exit code of `sync` when mutations remain pending.
const EXIT_PENDING: u8 = 3;

fn out(v: Value) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{v}");
    let _ = stdout.flush();
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(
                stderr,
                "{}",
                json!({ "error": e.code(), "message": e.to_string() })
            );
            std::process::ExitCode::FAILURE
        }
    }
}

/// Opens the cache, runs the command, and closes the cache whatever the outcome.
async fn run(cli: Cli) -> Result<u8, Error> {
    let usage = |m: &str| Error::Protocol(format!("usage: {m}"));
    let cache = cli
        .cache
        .clone()
        .ok_or_else(|| usage("--cache PATH is required"))?;
    let key = cli
        .key_hex
        .as_deref()
        .and_then(CacheKey::from_hex)
        .ok_or_else(|| usage("--key-hex must be 64 hex digits"))?;
    let endpoints = cli
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, url)| {
            let name = match i {
                0 => "内网".to_owned(),
                1 => "外网".to_owned(),
                n => format!("地址{}", n + 1),
            };
            let endpoint = Endpoint::new(name, url.clone(), false);
            if cli.allow_plain_http {
                endpoint.allowing_plain_http()
            } else {
                endpoint
            }
        })
        .collect();
    let mut config = ClientConfig::new(cache, key, endpoints);
    if let Some(path) = &cli.ca_bundle {
        config.county_ca_pem = Some(std::fs::read(path)?);
    }
    config.connect_timeout = Duration::from_millis(cli.connect_timeout_ms);
    config.poll_interval = Duration::from_millis(cli.poll_ms);
    config.preferred_retry = Duration::from_millis(cli.preferred_retry_ms);
    config.backoff_max = Duration::from_millis(cli.backoff_max_ms);
    let desk = Desk::open(config).await?;
    let result = command(cli.command, &desk).await;
    desk.close().await;
    result
}

async fn command(command: Command, desk: &Desk) -> Result<u8, Error> {
    let desk = desk.clone();
    let usage = |m: &str| Error::Protocol(format!("usage: {m}"));
    match command {
        Command::Sync => {
            login(&desk).await?;
            let report = desk.sync_now().await?;
            let pending = desk.pending_count().await?;
            out(json!({ "report": report, "pending": pending }));
            if pending > 0 {
                return Ok(EXIT_PENDING);
            }
        }
        Command::Outbox => {
            let entries = desk.store().outbox_entries().await?;
            out(json!({
                "client_id": desk.client_id(),
                "next_seq": desk.store().meta("next_seq").await?,
                "pending": entries.len(),
                "reveals_pending": desk.store().pending_reveal_count().await?,
            }));
            for e in entries {
                out(serde_json::to_value(e).unwrap_or(Value::Null));
            }
        }
        Command::Queue {
            view,
            kind,
            hours,
            search,
            include_closed,
            limit,
            show_personal,
            sync,
        } => {
            if sync {
                login(&desk).await?;
                desk.sync_now().await?;
            }
            let view = match view.as_str() {
                "mine" => QueueView::Mine,
                "unit" => QueueView::Unit,
                "overdue" => QueueView::Overdue,
                "all" => QueueView::All,
                "due-soon" | "due_soon" => QueueView::DueSoon(Duration::from_secs(hours * 3600)),
                "kind" => QueueView::Kind(kind.ok_or_else(|| usage("--view kind needs --kind"))?),
                other => QueueView::Kind(other.to_owned()),
            };
            let items = desk
                .queue(QueueQuery {
                    view,
                    search,
                    include_closed,
                    limit,
                })
                .await?;
            for item in &items {
                out(item_json(item, show_personal));
            }
        }
        Command::ActClaimAll { kind, max } => {
            login(&desk).await?;
            desk.sync_now().await?;
            let items = desk
                .queue(QueueQuery {
                    view: QueueView::Kind(kind),
                    search: None,
                    include_closed: false,
                    limit: u32::MAX,
                })
                .await?;
            let mut claimed = 0u32;
            for item in items.iter().filter(|i| i.record.handler_id.is_none()) {
                if claimed >= max {
                    break;
                }
                match desk.act(item.record.id, Op::Claim).await {
                    Ok(_) => claimed += 1,
                    Err(Error::Refused { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            let report = desk.sync_now().await?;
            out(json!({ "claimed": claimed, "report": report }));
        }
        Command::Flood { count } => {
            login(&desk).await?;
            desk.sync_now().await?;
            let mut items = desk.queue(QueueQuery::new(QueueView::Unit)).await?;
            if items.is_empty() {
                items = desk.queue(QueueQuery::new(QueueView::All)).await?;
            }
            if items.is_empty() && count > 0 {
                return Err(Error::Protocol("no open item to add notes to".into()));
            }
            let mut enqueued = 0u32;
            for n in 0..count {
                let item = &items[n as usize % items.len()];
                desk.act(
                    item.record.id,
                    Op::AddNote {
                        text: format!("flood note {}", n + 1),
                    },
                )
                .await?;
                enqueued += 1;
            }
            out(json!({ "enqueued": enqueued, "pending": desk.pending_count().await? }));
            let report = desk.sync_now().await?;
            out(json!({ "report": report, "pending": desk.pending_count().await? }));
        }
        Command::Watch => {
            login(&desk).await?;
            let mut status = desk.status();
            let mut changes = desk.changes();
            let handle = desk.start();
            out(json!({ "type": "status", "status": *status.borrow_and_update() }));
            loop {
                tokio::select! {
                    r = status.changed() => {
                        if r.is_err() { break; }
                        let s = status.borrow_and_update().clone();
                        out(json!({ "type": "status", "status": s }));
                    }
                    ev = changes.recv() => match ev {
                        Ok(CacheEvent::ItemsChanged { ids, new_items }) => {
                            for id in &new_items {
                                if let Some(item) = desk.item(*id).await? {
                                    out(json!({ "type": "new_item", "item": item_json(&item, false) }));
                                }
                            }
                            out(json!({ "type": "items_changed", "count": ids.len() }));
                        }
                        Ok(CacheEvent::Rejected(n)) => out(json!({ "type": "rejected", "notice": n })),
                        Ok(CacheEvent::CatalogueChanged) => out(json!({ "type": "catalogue_changed" })),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => out(json!({ "type": "lagged", "missed": n })),
                        Err(_) => break,
                    },
                    _ = tokio::signal::ctrl_c() => break,
                }
            }
            handle.stop().await;
        }
    }
    Ok(0)
}

async fn login(desk: &Desk) -> Result<(), Error> {
    let user = std::env::var("SHIMIN_USER").map_err(|_| Error::Protocol("SHIMIN_USER is not set".into()))?;
    let password =
        std::env::var("SHIMIN_PASSWORD").map_err(|_| Error::Protocol("SHIMIN_PASSWORD is not set".into()))?;
    let outcome = desk.login(&user, &password).await?;
    if outcome.must_change_password {
        return Err(Error::PasswordChangeRequired);
    }
    Ok(())
}

/// An item as a JSON line; personal fields only on request, and even then the ID number and
/// the phone masked as on every screen (showing one in full is the desk app's audited 显示).
fn item_json(item: &ItemView, show_personal: bool) -> Value {
    let mut item = item.clone();
    item.record.applicant = item.record.applicant.as_on_screen();
    let mut v = serde_json::to_value(&item).unwrap_or(Value::Null);
    if !show_personal {
        if let Value::Object(m) = &mut v {
            for key in ["applicant", "title", "content", "events", "details"] {
                m.remove(key);
            }
        }
    }
    v
}
