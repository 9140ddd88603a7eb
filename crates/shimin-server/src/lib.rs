//! `shimin-server`: the central server of Shimin Desk (市民网) and the reference implementation
//! of the sync protocol in `shimin-protocol`.
//!
//! - [`auth`]: login (argon2id in a bounded pool, throttling), sessions (hashed bearer tokens, idle expiry), password
//!   change (R-PWD).
//! - [`intake`]: the citizen portal's API creating work items.
//! - [`sync`]: pull (scoped by `shimin_domain::role::read_scope`), push (idempotent per client
//!   sequence, decided by `shimin_domain::item::decide`), and [`events`]: the SSE poke stream.
//! - [`store`]: the storage layer, the only place with SQL: SQLite (embedded default) and
//!   PostgreSQL (several instances), the change sequence, the hash-chained audit trail.
//! - [`calendar`]: the working-time calendar in force, versioned, updated by the sysadmin;
//!   [`deadline`]: items' statutory deadlines (`shimin_domain::statutory`);
//!   [`supervision`]: the background task recording warnings (预警) and supervision cases (督办).
//! - [`demo`]: a deterministic demo county.
//!
//! Architecture invariant: the server is the authority. Every pull is filtered and every push is
//! checked on the server with the domain crate's rules; the desk's own checks are only a preview.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod blobs;
pub mod calendar;
pub mod cases;
pub mod config_file;
pub mod counter;
pub mod deadline;
pub mod demo;
pub mod epoch;
pub mod error;
pub mod events;
pub mod http;
pub mod inspect;
pub mod intake;
pub mod items;
pub mod metrics;
pub mod passwords;
pub mod reveals;
pub mod scan;
pub mod stats;
pub mod store;
pub mod supervision;
pub mod sync;
pub mod throttle;
pub mod tls;
pub mod updates;
pub mod users;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

pub use error::{Error, Result};

/// Argon2id cost parameters for new password hashes. Verification reads the parameters stored
/// in each hash, so lowering these (tests) never weakens existing hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Parallelism.
    pub p: u32,
}

impl Default for HashParams {
    /// OWASP recommendation for argon2id: m = 19 MiB, t = 2, p = 1.
    fn default() -> Self {
        HashParams {
            m_kib: 19_456,
            t: 2,
            p: 1,
        }
    }
}

impl HashParams {
    /// Very cheap parameters for tests only.
    pub fn insecure_fast() -> Self {
        HashParams {
            m_kib: 64,
            t: 1,
            p: 1,
        }
    }
}

/// Options of the demo county (`--demo`).
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// Create a new reservation through the intake path every so often.
    pub trickle: Option<Duration>,
    /// Only the directory and the catalogue (units, accounts, matters), no items: for tests
    /// that write a history of their own and count it.
    pub directory_only: bool,
}

/// Server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where `shimin.db` (SQLite) and, by default, the blobs live; created if missing.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the data directory's SQLite file.
    pub database: Option<String>,
    /// Where attachments' bytes live (default `<data-dir>/blobs`). Several instances on one
    /// PostgreSQL share one directory (a shared mount).
    pub blob_dir: Option<PathBuf>,
    /// Every address to serve plain HTTP on (loopback, or an intranet address the county's
    /// administrator accepts unencrypted); the same server answers on each.
    pub listen: Vec<SocketAddr>,
    /// Every address to serve HTTPS on (the internet address, and the intranet's where it is
    /// encrypted too); needs [`Config::tls`].
    pub listen_tls: Vec<SocketAddr>,
    /// The certificate and key of the HTTPS addresses (reloaded by [`RunningServer::reload_tls`]).
    pub tls: Option<tls::TlsFiles>,
    /// Where Prometheus scrapes `/metrics` (never one of the desks' addresses); `None`: off.
    pub metrics_listen: Option<SocketAddr>,
    /// The virus check of uploads (§21.6); `None`: uploads are not checked.
    pub scanner: Option<scan::ScannerConfig>,
    /// A session ends after this long without a request.
    pub idle_timeout: Duration,
    /// How failed password checks are slowed (growing waits per throttle key).
    pub login_policy: shimin_domain::login::LoginPolicy,
    /// Password attempts per client address.
    pub address_limit: throttle::AddressLimit,
    /// Seed (and optionally trickle) the demo county.
    pub demo: Option<DemoOptions>,
    /// Cost of new password hashes.
    pub hash_params: HashParams,
    /// How often the supervision task looks for warning and overdue points (预警/督办);
    /// `None` turns it off (tests driving [`supervision::tick`] themselves).
    pub supervision_every: Option<Duration>,
    /// Working days a unit has to follow up a bad rating (差评回访整改, R-EVA).
    pub follow_up_days: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./shimin-data"),
            database: None,
            blob_dir: None,
            // Loopback only by default: exposing the server is an explicit decision.
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 8201))],
            listen_tls: Vec::new(),
            tls: None,
            metrics_listen: None,
            scanner: None,
            idle_timeout: Duration::from_secs(8 * 3600),
            login_policy: Default::default(),
            address_limit: Default::default(),
            demo: None,
            hash_params: HashParams::default(),
            supervision_every: Some(Duration::from_secs(30)),
            follow_up_days: shimin_domain::supervision::FOLLOW_UP_DAYS,
        }
    }
}

impl Config {
    /// The database this configuration names.
    pub fn database(&self) -> Result<store::Database> {
        store::Database::parse(self.database.as_deref(), &self.data_dir)
    }

    /// The blob directory.
    pub fn blob_dir(&self) -> PathBuf {
        self.blob_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("blobs"))
    }
}

/// A committed change, broadcast to the SSE streams (sent only after the commit, so a pull
/// triggered by it sees the change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Committed {
    pub seq: i64,
    /// Unit now handling the item (None for directory changes, which concern everyone).
    pub unit_id: Option<i64>,
    /// Unit the item left (transfer), whose desks must pull the removal.
    pub old_unit_id: Option<i64>,
    pub agent_id: Option<i64>,
    /// Recorded by the server on its own (预警/督办 sweep, calendar recompute), often for many
    /// items at once and never urgent: desks are told to spread their pulls
    /// ([`shimin_protocol::Poke::spread_ms`]) instead of all pulling in the same instant.
    pub background: bool,
}

impl Committed {
    /// A change every desk pulls (directory, calendar; or "something may have been missed").
    pub fn everyone() -> Committed {
        Committed {
            seq: 0,
            unit_id: None,
            old_unit_id: None,
            agent_id: None,
            background: false,
        }
    }
}

/// Shared state of the running server.
#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    /// The storage layer (every read and write of the database).
    pub store: store::Store,
    /// This instance's id (PostgreSQL notifications name it).
    pub instance: uuid::Uuid,
    /// The database timeline (see `PullResponse.epoch`).
    pub epoch: String,
    /// Committed changes of this instance and (PostgreSQL) of the others, for the SSE streams.
    pub changes: broadcast::Sender<Committed>,
    pub shutdown: watch::Receiver<bool>,
    /// A precomputed hash verified against for unknown users (similar timing).
    pub dummy_hash: String,
    /// Password hashing with bounded concurrency and memory.
    pub hasher: passwords::Hasher,
    /// Password attempts per client address.
    pub limiter: throttle::AddressLimiter,
    /// Attachments' bytes (`<data-dir>/blobs` by default).
    pub blobs: Arc<dyn blobs::BlobStore>,
    /// Serialises chunk appends and upload completion (uploads are few; order matters).
    pub blob_lock: tokio::sync::Mutex<()>,
    /// The working calendar in force (the stored calendar row, built).
    calendar: RwLock<Arc<shimin_domain::calendar::WorkCalendar>>,
}

impl AppState {
    /// The working calendar deadlines are computed with now.
    pub fn calendar(&self) -> Arc<shimin_domain::calendar::WorkCalendar> {
        self.calendar
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Puts a new calendar in force (after it was stored).
    pub fn set_calendar(&self, cal: shimin_domain::calendar::WorkCalendar) {
        *self
            .calendar
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(cal);
    }

    /// Pokes this instance's SSE streams without a commit (a calendar reloaded from the
    /// database). Committed changes are announced by the store.
    pub fn poke_local(&self, c: Committed) {
        // No receivers is fine.
        let _ = self.changes.send(c);
    }
}

pub type SharedState = Arc<AppState>;

/// A server running in this process.
#[derive(Debug)]
pub struct RunningServer {
    /// The bound plain-HTTP addresses (useful with port 0).
    pub addrs: Vec<SocketAddr>,
    /// The bound HTTPS addresses.
    pub tls_addrs: Vec<SocketAddr>,
    /// The bound metrics address.
    pub metrics_addr: Option<SocketAddr>,
    tls: Option<Arc<tls::CertSlot>>,
    state: SharedState,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Held while serving from a SQLite data directory.
    _data_dir_lock: Option<admin::DataDirLock>,
}

impl RunningServer {
    /// The storage layer (tests, admin tools).
    pub fn store(&self) -> &store::Store {
        &self.state.store
    }

    pub fn state(&self) -> &SharedState {
        &self.state
    }

    /// Base URL of the first plain address, e.g. `http://127.0.0.1:39153`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addrs[0])
    }

    /// Base URL of the first HTTPS address with `host` as the name the certificate is for,
    /// e.g. `https://localhost:39154`.
    pub fn https_url(&self, host: &str) -> String {
        format!("https://{host}:{}", self.tls_addrs[0].port())
    }

    /// Reads the certificate and key files again (SIGHUP): new handshakes get the new ones,
    /// connections already up keep theirs. On a problem the old certificate stays in force.
    pub fn reload_tls(&self) -> Result<()> {
        let Some(slot) = &self.tls else {
            return Err(Error::Config("本服务器未配置 TLS 证书".into()));
        };
        let outcome = slot.reload();
        metrics::tls_reloaded(outcome.is_ok());
        outcome
    }

    /// The certificate slot of the HTTPS addresses.
    pub fn tls(&self) -> Option<&Arc<tls::CertSlot>> {
        self.tls.as_ref()
    }

    /// Stops accepting, ends SSE streams and background tasks, waits for them.
    pub fn shutdown(self) -> impl std::future::Future<Output = ()> {
        let RunningServer {
            shutdown,
            tasks,
            state,
            _data_dir_lock,
            ..
        } = self;
        async move {
            let _ = shutdown.send(true);
            for t in tasks {
                let _ = t.await;
            }
            state.store.close().await;
            drop(_data_dir_lock);
        }
    }
}

/// Opens the database (migrating it), seeds the demo if asked, binds every listen address and
/// serves until [`RunningServer::shutdown`].
pub async fn start(config: Config) -> Result<RunningServer> {
    // Certificates first: a bad one stops the start before anything is opened or bound.
    let tls = config_file::validate(&config)?;
    let database = config.database()?;
    // One server process per SQLite data directory (PostgreSQL instances share the database).
    let data_dir_lock = match &database {
        store::Database::Sqlite(dir) => Some(admin::DataDirLock::acquire(dir)?),
        store::Database::Postgres(_) => None,
    };
    let (changes, _) = broadcast::channel(1024);
    let instance = uuid::Uuid::new_v4();
    let store = store::Store::open(
        &store::OpenOptions {
            database,
            instance,
            migrate: true,
        },
        store::Announcer {
            local: changes.clone(),
        },
    )
    .await?;
    let epoch = epoch::ensure(&store).await?;
    calendar::ensure(&store).await?;
    let cal = calendar::load(&store).await?;
    let dummy_hash =
        auth::hash_password_blocking(config.hash_params, "dummy-password-for-timing!1".into()).await?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let blob_dir = config.blob_dir();
    let state = Arc::new(AppState {
        config: config.clone(),
        store,
        instance,
        epoch,
        changes,
        shutdown: shutdown_rx,
        dummy_hash,
        hasher: passwords::Hasher::new(config.hash_params),
        limiter: throttle::AddressLimiter::new(config.address_limit),
        blobs: Arc::new(
            blobs::FsBlobStore::new(&blob_dir)
                .map_err(|e| Error::Config(format!("无法使用附件目录 {}：{e}", blob_dir.display())))?,
        ),
        blob_lock: tokio::sync::Mutex::new(()),
        calendar: RwLock::new(Arc::new(cal)),
    });
    // Before the demo: its items are then projected as they are written.
    stats::ensure_projection(&state).await?;
    if config.demo.is_some() {
        demo::seed(&state).await?;
    }
    let app = http::router(state.clone());
    let plain = bind_all(&config.listen).await?;
    let secure = bind_all(&config.listen_tls).await?;
    let metrics_listener = match config.metrics_listen {
        Some(addr) => Some(bind_all(&[addr]).await?.remove(0)),
        None => None,
    };
    let local = |l: &tokio::net::TcpListener| l.local_addr().map_err(Error::internal);
    let addrs = plain.iter().map(local).collect::<Result<Vec<_>>>()?;
    let tls_addrs = secure.iter().map(local).collect::<Result<Vec<_>>>()?;
    let metrics_addr = metrics_listener.as_ref().map(local).transpose()?;
    let mut tasks = Vec::new();
    for listener in plain {
        tasks.push(serve_plain(listener, app.clone(), state.shutdown.clone()));
    }
    if let Some(slot) = &tls {
        let acceptor = slot.acceptor()?;
        for listener in secure {
            tasks.push(serve_tls(
                listener,
                acceptor.clone(),
                app.clone(),
                state.shutdown.clone(),
            ));
        }
    }
    if let Some(listener) = metrics_listener {
        let app = metrics::router().into_make_service_with_connect_info::<SocketAddr>();
        tasks.push(serve_plain_service(listener, app, state.shutdown.clone()));
    }
    if let Some(listener) = state.store.spawn_listener(state.shutdown.clone()) {
        tasks.push(listener);
    }
    if let Some(every) = config.supervision_every {
        tasks.push(tokio::spawn(supervision::run(state.clone(), every)));
    }
    if let Some(every) = config.demo.as_ref().and_then(|d| d.trickle) {
        tasks.push(tokio::spawn(demo::trickle(state.clone(), every)));
    }
    Ok(RunningServer {
        addrs,
        tls_addrs,
        metrics_addr,
        tls,
        state,
        shutdown: shutdown_tx,
        tasks,
        _data_dir_lock: data_dir_lock,
    })
}

/// The HTTPS certificate, when HTTPS addresses are configured (and only then).
pub(crate) fn load_tls(config: &Config) -> Result<Option<Arc<tls::CertSlot>>> {
    match (&config.tls, config.listen_tls.is_empty()) {
        (Some(files), false) => Ok(Some(tls::CertSlot::load(files)?)),
        (None, true) => Ok(None),
        (None, false) => Err(Error::Config(
            "listen_tls 需要 [tls] 中的 cert 与 key（证书与私钥文件）".into(),
        )),
        (Some(_), true) => Err(Error::Config("配置了 [tls] 证书但没有 listen_tls 地址".into())),
    }
}

/// Binds every address, or none: the first that cannot be bound is named.
async fn bind_all(addrs: &[SocketAddr]) -> Result<Vec<tokio::net::TcpListener>> {
    let mut listeners = Vec::new();
    for addr in addrs {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Config(format!("无法监听 {addr}：{e}")))?;
        listeners.push(listener);
    }
    Ok(listeners)
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

fn serve_plain(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    serve_plain_service(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
        shutdown,
    )
}

fn serve_plain_service(
    listener: tokio::net::TcpListener,
    service: axum::extract::connect_info::IntoMakeServiceWithConnectInfo<axum::Router, SocketAddr>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let addr = listener.local_addr().ok();
    tracing::info!(?addr, "listening (HTTP)");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, service)
            .with_graceful_shutdown(stopped(shutdown))
            .await
        {
            tracing::error!(?addr, error = %e, "server stopped with an error");
        }
    })
}

fn serve_tls(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    app: axum::Router,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    use axum::serve::ListenerExt;
    let addr = listener.local_addr().ok();
    tracing::info!(?addr, "listening (HTTPS)");
    // `tap_io` only so that the connection's peer address reaches `ConnectInfo` (axum gives
    // that to any tapped listener whose address is a `SocketAddr`).
    let listener = tls::TlsListener::spawn(listener, acceptor, shutdown.clone()).tap_io(|_| {});
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(stopped(shutdown))
            .await
        {
            tracing::error!(?addr, error = %e, "server stopped with an error");
        }
    })
}
