//! `shimin-server`: serve (default) or administer accounts.
//!
//! ```text
//! shimin-server [--config FILE] [--data-dir DIR] [--database URL] [--listen ADDR]...
//!               [--listen-tls ADDR --tls-cert FILE --tls-key FILE] [--demo] [--trickle-secs N]
//! shimin-server check-config                               (the configuration, certificates too)
//! shimin-server user add --username U --role ROLE [--unit UNIT] --password P [--display-name NAME]
//! shimin-server calendar import FILE.json
//! shimin-server migrate --to postgres://… [--sessions]     (SQLite data directory → PostgreSQL)
//! shimin-server backup DEST                                 (while serving; DEST must be new)
//! shimin-server restore BACKUP                              (into an empty data dir / database)
//! shimin-server audit verify                                (the audit trail's hash chain)
//! shimin-server update keygen DIR                           (the county's desk-update key pair)
//! shimin-server update publish --version V --notes N --key KEY FILE.deb
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use shimin_domain::role::Role;
use shimin_server::store::{Backend, Database, NewUser, Store};
use shimin_server::tls::TlsFiles;
use shimin_server::{admin, auth, users, Config, DemoOptions};

#[derive(Debug, Parser)]
#[command(
    name = "shimin-server",
    version,
    about = "市民网窗口端中心服务器 (Shimin Desk central server)"
)]
struct Cli {
    /// The configuration file (TOML, e.g. /etc/shimin/server.toml); options given on the
    /// command line override its keys.
    #[arg(long, env = "SHIMIN_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Directory of the database (created if missing; default ./shimin-data).
    #[arg(long, env = "SHIMIN_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// `postgres://user:password@host/db` to keep the data in PostgreSQL (several instances
    /// may share it) instead of the data directory's SQLite file.
    #[arg(long, env = "SHIMIN_DATABASE", global = true)]
    database: Option<String>,
    /// Directory of attachments' bytes (default `<data-dir>/blobs`); shared by all instances.
    #[arg(long, env = "SHIMIN_BLOB_DIR", global = true)]
    blob_dir: Option<PathBuf>,
    /// Address to serve plain HTTP on; repeat for several. Default 127.0.0.1:8201.
    #[arg(long)]
    listen: Vec<SocketAddr>,
    /// Address to serve HTTPS on; repeat for several. Needs --tls-cert and --tls-key.
    #[arg(long)]
    listen_tls: Vec<SocketAddr>,
    /// The HTTPS certificate chain (PEM, server certificate first). Reloaded on SIGHUP.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
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
    /// Check the configuration (file and options): keys, addresses, certificate and key
    /// (readable, matching), the database named. Prints what would be served; starts nothing.
    CheckConfig,
    /// Copy this server's SQLite data directory into an empty PostgreSQL database, then check
    /// every table (rows counted and hashed) and the audit chain. Stop the server first; start
    /// it afterwards with `--database` (desks keep syncing: ids, numbers and change numbers
    /// are kept).
    Migrate {
        /// The PostgreSQL database to fill (`postgres://user:password@host/db`), empty.
        #[arg(long)]
        to: String,
        /// Copy the sessions too (desks stay logged in).
        #[arg(long)]
        sessions: bool,
    },
    /// A consistent copy of the database and the attachments into the new directory DEST,
    /// while the server serves (SQLite: VACUUM INTO; PostgreSQL: pg_dump).
    Backup { dest: PathBuf },
    /// Bring a backup back into an empty data directory (or empty PostgreSQL database given by
    /// --database). The restored database starts a new epoch: desks resynchronise by themselves
    /// and keep what they have pending.
    Restore { backup: PathBuf },
    /// The audit trail (审计日志).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Desk updates: the county's signing key, publishing a desk package.
    Update {
        #[command(subcommand)]
        command: UpdateCommand,
    },
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
enum UpdateCommand {
    /// Writes a new Ed25519 key pair into DIR: update-signing.key (keep it offline, mode 0600)
    /// and update-signing.pub (for the desks' /etc/shimin-desk/settings.toml).
    Keygen { dir: PathBuf },
    /// Signs FILE with --key and publishes it as the newest desk release (served to every desk
    /// by every instance sharing the blob directory).
    Publish {
        #[arg(long)]
        version: String,
        /// What is new, shown to the clerk before consent.
        #[arg(long)]
        notes: String,
        /// update-signing.key from `update keygen`.
        #[arg(long)]
        key: PathBuf,
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain and report the first changed, removed or inserted entry.
    Verify,
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

/// The configuration: defaults, then the file's keys, then the command line's options.
fn configuration(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = Config::default();
    if let Some(path) = &cli.config {
        config = shimin_server::config_file::ServerFile::read(path)?.apply(config);
    }
    if let Some(d) = &cli.data_dir {
        config.data_dir = d.clone();
    }
    if cli.database.is_some() {
        config.database = cli.database.clone();
    }
    if cli.blob_dir.is_some() {
        config.blob_dir = cli.blob_dir.clone();
    }
    if !cli.listen.is_empty() {
        config.listen = cli.listen.clone();
    }
    if !cli.listen_tls.is_empty() {
        config.listen_tls = cli.listen_tls.clone();
    }
    if let (Some(cert), Some(key)) = (&cli.tls_cert, &cli.tls_key) {
        config.tls = Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    if let Some(s) = cli.idle_timeout_secs {
        config.idle_timeout = Duration::from_secs(s);
    }
    Ok(config)
}

/// Opens the configured store for an admin command (migrated, no server running in this
/// process).
async fn open_store(config: &Config) -> anyhow::Result<Store> {
    Ok(admin::open(config.database()?).await?)
}

/// Serves until SIGINT or SIGTERM (systemd's stop); SIGHUP reloads the TLS certificate.
async fn serve(config: Config) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let server = shimin_server::start(config).await?;
    tracing::info!(plain = ?server.addrs, tls = ?server.tls_addrs, metrics = ?server.metrics_addr, "shimin-server ready");
    loop {
        tokio::select! {
            _ = hangup.recv() => match server.reload_tls() {
                Ok(()) => tracing::info!("TLS certificate reloaded"),
                Err(e) => tracing::error!(error = %e, "TLS certificate not reloaded; the previous one stays in force"),
            },
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
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
    let config = configuration(&cli)?;
    let blob_dir = config.blob_dir();
    match &cli.command {
        Some(Command::Update {
            command: UpdateCommand::Keygen { dir },
        }) => {
            let (key, public) = shimin_server::updates::keygen(dir)?;
            tracing::info!(key = %key.display(), %public, "update key written; put the public key into the desks' settings");
            Ok(())
        }
        Some(Command::Update {
            command:
                UpdateCommand::Publish {
                    version,
                    notes,
                    key,
                    file,
                },
        }) => {
            let m = shimin_server::updates::publish(&blob_dir, key, file, version, notes)?;
            tracing::info!(version = %m.version, file = %m.file, size = m.size, sha256 = %m.sha256, "desk update published");
            Ok(())
        }
        Some(Command::CheckConfig) => {
            let report = shimin_server::config_file::check(&config)?;
            tracing::info!(database = %report.database, plain = ?report.plain, tls = ?report.tls, "configuration OK");
            Ok(())
        }
        Some(Command::Migrate { to, sessions }) => {
            let source_db = config.database()?;
            let Database::Sqlite(dir) = &source_db else {
                anyhow::bail!("migrate copies a SQLite data directory (--data-dir), not another database");
            };
            if !shimin_server::store::sqlite::db_path(dir).exists() {
                anyhow::bail!("{} holds no database to migrate", dir.display());
            }
            let _lock = admin::DataDirLock::acquire(dir)?;
            let target_db = Database::parse(Some(to), &config.data_dir)?;
            if target_db.backend() != Backend::Postgres {
                anyhow::bail!("--to must be a postgres:// URL");
            }
            let source = admin::open(source_db).await?;
            let target = admin::open(target_db.clone()).await?;
            let result = admin::migrate(&source, &target, *sessions).await;
            source.close().await;
            target.close().await;
            for t in result? {
                tracing::info!(table = t.table.name(), rows = t.rows, hash = %t.hash, "copied and verified");
            }
            tracing::info!(to = %target_db.describe(), "migration complete; start the server with --database");
            Ok(())
        }
        Some(Command::Backup { dest }) => {
            let database = config.database()?;
            let m = admin::backup(&database, &blob_dir, dest).await?;
            tracing::info!(dest = %dest.display(), seq = m.seq, items = m.items, audit = m.audit_entries,
                blobs = m.blobs, "backup complete");
            Ok(())
        }
        Some(Command::Restore { backup }) => {
            let database = config.database()?;
            let m = admin::restore(backup, &database, &blob_dir).await?;
            tracing::info!(into = %database.describe(), seq = m.seq, items = m.items, epoch = %m.epoch,
                "restore complete; desks resynchronise on their next pull");
            Ok(())
        }
        Some(Command::Audit {
            command: AuditCommand::Verify,
        }) => {
            let store = open_store(&config).await?;
            let v = shimin_server::audit::verify(&store).await;
            store.close().await;
            let v = v?;
            match v.broken {
                None => {
                    tracing::info!(entries = v.entries, head = %v.head, "audit chain intact");
                    Ok(())
                }
                Some((id, why)) => anyhow::bail!("audit chain broken at entry {id}: {why}"),
            }
        }
        Some(Command::Calendar {
            command: CalendarCommand::Import { file },
        }) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let wire: shimin_protocol::CalendarWire = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{} is not a calendar: {e}", file.display()))?;
            let store = open_store(&config).await?;
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
            let store = open_store(&config).await?;
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
            let mut config = config;
            if cli.demo {
                config.demo = Some(DemoOptions {
                    trickle: cli.trickle_secs.filter(|s| *s > 0).map(Duration::from_secs),
                    ..DemoOptions::default()
                });
            } else if cli.trickle_secs.is_some() {
                anyhow::bail!("--trickle-secs needs --demo");
            }
            serve(config).await
        }
    }
}
