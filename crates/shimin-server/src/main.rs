//! `shimin-server`: serve (default) or administer accounts.
//!
//! ```text
//! shimin-server [--data-dir DIR] [--listen ADDR]... [--demo] [--trickle-secs N] [--idle-timeout-secs N]
//! shimin-server user add --username U --role ROLE [--unit UNIT] --password P [--display-name NAME]
//! shimin-server calendar import FILE.json
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use shimin_domain::role::Role;
use shimin_server::store::{Announcer, Database, NewUser, OpenOptions, Store};
use shimin_server::{auth, users, Config, DemoOptions};

#[derive(Debug, Parser)]
#[command(
    name = "shimin-server",
    version,
    about = "市民网窗口端中心服务器 (Shimin Desk central server)"
)]
struct Cli {
    /// Directory of the database (created if missing).
    #[arg(long, env = "SHIMIN_DATA_DIR", default_value = "./shimin-data", global = true)]
    data_dir: PathBuf,
    /// `postgres://user:password@host/db` to keep the data in PostgreSQL (several instances
    /// may share it) instead of the data directory's SQLite file.
    #[arg(long, env = "SHIMIN_DATABASE", global = true)]
    database: Option<String>,
    /// Directory of attachments' bytes (default `<data-dir>/blobs`); shared by all instances.
    #[arg(long, env = "SHIMIN_BLOB_DIR", global = true)]
    blob_dir: Option<PathBuf>,
    /// Address to serve on; repeat for several (intranet and internet). Default 127.0.0.1:8201.
    #[arg(long)]
    listen: Vec<SocketAddr>,
    /// Seed and serve the demo county (password of every demo account: Demo#2026).
    #[arg(long)]
    demo: bool,
    /// With --demo: a new reservation every N seconds.
    #[arg(long)]
    trickle_secs: Option<u64>,
    /// Session idle timeout in seconds (default 8 hours).
    #[arg(long)]
    idle_timeout_secs: Option<u64>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage office accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage the working-time calendar (工作日历).
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
}

#[derive(Debug, Subcommand)]
enum CalendarCommand {
    /// Store a new version of the working-time calendar (JSON as `CalendarWire`: version above
    /// the stored one, one schedule per year). A running server picks it up within one
    /// supervision interval and the desks pull it.
    Import {
        /// The calendar file.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Issue an account; its user must change the password on first login.
    Add {
        #[arg(long)]
        username: String,
        /// clerk, dept_leader, net_admin, agent, manager, center_leader, intake, inspector, sysadmin, portal
        #[arg(long)]
        role: String,
        /// Unit id or exact name (required for clerk, dept_leader, net_admin, agent).
        #[arg(long)]
        unit: Option<String>,
        /// Initial password (must satisfy R-PWD).
        #[arg(long)]
        password: String,
        /// Name shown to colleagues (default: the user name).
        #[arg(long)]
        display_name: Option<String>,
    },
}

/// Opens the configured store for an admin command (migrated, no server running in this
/// process).
async fn open_store(cli: &Cli) -> anyhow::Result<Store> {
    let database = Database::parse(cli.database.as_deref(), &cli.data_dir)?;
    Ok(Store::open(
        &OpenOptions {
            database,
            instance: uuid::Uuid::new_v4(),
            migrate: true,
        },
        Announcer {
            local: tokio::sync::broadcast::channel(1).0,
        },
    )
    .await?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Calendar {
            command: CalendarCommand::Import { file },
        }) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let wire: shimin_protocol::CalendarWire = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{} is not a calendar: {e}", file.display()))?;
            let store = open_store(&cli).await?;
            let result = shimin_server::calendar::update(&store, &wire, None).await;
            store.close().await;
            let updated = result?;
            tracing::info!(
                version = updated.accepted.version,
                rescheduled = updated.accepted.items_rescheduled,
                "calendar imported"
            );
            Ok(())
        }
        Some(Command::User {
            command:
                UserCommand::Add {
                    username,
                    role,
                    unit,
                    password,
                    display_name,
                },
        }) => {
            let role = Role::from_code(role).ok_or_else(|| anyhow::anyhow!("unknown role {role:?}"))?;
            if let Err(problems) = shimin_domain::password::check_password(password) {
                let list: Vec<&str> = problems.iter().map(|p| p.message_zh()).collect();
                anyhow::bail!("password breaks R-PWD: {}", list.join("；"));
            }
            let store = open_store(&cli).await?;
            let unit_id = match unit {
                Some(u) => Some(
                    store
                        .reader()
                        .await?
                        .find_unit(u)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("unknown unit {u:?}"))?,
                ),
                None if role.is_unit_office() || role == Role::Agent => {
                    anyhow::bail!("role {} needs --unit", role.code())
                }
                None => None,
            };
            let hash = auth::hash_password_blocking(Default::default(), password.clone()).await?;
            let display = display_name.clone().unwrap_or_else(|| username.clone());
            let mut tx = store.write().await?;
            let id = users::add_user(
                &mut *tx,
                &NewUser {
                    username,
                    display_name: &display,
                    role,
                    unit_id,
                    password_hash: &hash,
                    must_change_password: true,
                },
            )
            .await?;
            tx.audit(shimin_server::audit::Entry {
                action: "user.add",
                target: Some(username),
                outcome: "ok (console)",
                ..Default::default()
            });
            tx.commit().await?;
            store.close().await;
            tracing::info!(id, %username, role = role.code(), "user added; password must be changed at first login");
            Ok(())
        }
        None => {
            let mut config = Config {
                data_dir: cli.data_dir.clone(),
                database: cli.database.clone(),
                blob_dir: cli.blob_dir.clone(),
                ..Config::default()
            };
            if !cli.listen.is_empty() {
                config.listen = cli.listen.clone();
            }
            if let Some(s) = cli.idle_timeout_secs {
                config.idle_timeout = Duration::from_secs(s);
            }
            if cli.demo {
                config.demo = Some(DemoOptions {
                    trickle: cli.trickle_secs.filter(|s| *s > 0).map(Duration::from_secs),
                });
            } else if cli.trickle_secs.is_some() {
                anyhow::bail!("--trickle-secs needs --demo");
            }
            let server = shimin_server::start(config).await?;
            tracing::info!(addrs = ?server.addrs, "shimin-server ready");
            tokio::signal::ctrl_c().await?;
            tracing::info!("shutting down");
            server.shutdown().await;
            Ok(())
        }
    }
}
