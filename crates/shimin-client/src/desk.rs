//! [`Desk`]: the headless desk core the app, the CLI and the end-to-end tests drive.

use crate::clock::{CalendarWarning, Clocks, Countdown, DueLadder, LadderNotice};
use crate::config::ClientConfig;
use crate::http::Transport;
use crate::store::{ItemView, QueueQuery, QueueView, RejectionNotice, Store};
use crate::view::OpActor;
use crate::{driver, Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shimin_domain::calendar::to_local;
use shimin_domain::identity::PersonalField;
use shimin_domain::ladder::Presence;
use shimin_domain::supervision::CaseAction;
use shimin_protocol::{
    codes, paths, AnswerCase, ChangePasswordRequest, Colleague, HallCall, LoginRequest, LoginResponse,
    Matter, Op, PullResponse, PushRequest, PushResponse, Reveal, RevealBatch, ReviewCase, SetPresence,
    StatsReport, SupervisionCase, TicketEvent, TicketEventBatch, TicketReport, TransferredTicket, Unit,
    UserInfo, MAX_PULL_LIMIT, MAX_PUSH_BATCH, MAX_REVEAL_BATCH, MAX_TICKET_EVENT_BATCH,
};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch, Notify};
use uuid::Uuid;

/// The bearer token of a session. Kept in memory (and by the app in the OS keyring), never in
/// the cache. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    pub fn new(token: impl Into<String>) -> SessionToken {
        SessionToken(token.into())
    }

    /// The token itself, e.g. to store it in the keyring.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginOutcome {
    pub user: UserInfo,
    pub must_change_password: bool,
}

/// Where [`Desk::hand_in`] sends: the endpoint's index, the session's token, the path and the
/// batch size.
#[derive(Debug, Clone, Copy)]
struct HandIn<'a> {
    i: usize,
    token: &'a str,
    path: &'static str,
    batch: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub pushed_applied: u64,
    pub pushed_rejected: u64,
    pub pulled_changes: u64,
    pub cursor: i64,
    /// Records of masked numbers shown in full, handed in to the server.
    pub reveals_handed_in: u64,
    /// Counter events handed in by this sync.
    pub ticket_events_handed_in: u64,
}

/// A delegated case an agent registers (代办件登记), offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCase {
    pub matter_id: i64,
    pub applicant: shimin_protocol::Applicant,
    #[serde(default)]
    pub content: String,
    /// The village where the case was taken.
    pub place: String,
}

/// What the status bar shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    pub online: bool,
    /// Name of the endpoint in use ("内网" / "外网").
    pub endpoint: Option<String>,
    pub endpoint_url: Option<String>,
    /// How the endpoint in use carries the traffic (HTTPS, or plain on a marked intranet).
    #[serde(default)]
    pub security: Option<crate::http::Security>,
    /// The latest refusal for transport security (a certificate refused, a plain address not
    /// marked), with the endpoint's name: shown until that endpoint works again.
    #[serde(default)]
    pub security_problem: Option<SecurityProblem>,
    /// Local ops not yet confirmed.
    pub pending: u64,
    /// Captured attachments not yet held by the server (uploads to come or under way).
    #[serde(default)]
    pub uploads_pending: u64,
    pub last_sync: Option<DateTime<Utc>>,
    /// Server clock minus local clock.
    pub server_offset_ms: i64,
    /// The live stream (SSE) is connected.
    pub live: bool,
    pub last_error: Option<String>,
    /// Next year's official holiday schedule is missing (from 1 December): deadlines into it
    /// are provisional. Updated at open and after every sync.
    #[serde(default)]
    pub calendar_warning: Option<CalendarWarning>,
    /// The server no longer accepts the session (expired, revoked, logged out elsewhere): the
    /// clerk must log in again. Local work stays in the outbox. Cleared by a login.
    #[serde(default)]
    pub session_lost: bool,
}

/// An endpoint refused for transport security (R-NET).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityProblem {
    pub endpoint: String,
    /// `tls_expired`, `tls_wrong_host`, `tls_unknown_ca`, `tls_bad_certificate`,
    /// `plain_http_refused`.
    pub code: String,
    /// zh-CN, for the status bar.
    pub message: String,
}

impl SecurityProblem {
    /// The problem `e` stands for, if it is a transport-security refusal.
    pub fn of(e: &Error) -> Option<SecurityProblem> {
        let endpoint = match e {
            Error::Certificate { endpoint, .. } | Error::PlainHttpRefused { endpoint, .. } => endpoint,
            _ => return None,
        };
        Some(SecurityProblem {
            endpoint: endpoint.clone(),
            code: e.code().to_owned(),
            message: e.to_string(),
        })
    }
}

/// Emitted after changes are committed to the cache.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheEvent {
    /// Items inserted, updated (by a pull, a local op or a rollback) or removed. `new_items`
    /// are items seen for the first time (never during the very first snapshot).
    ItemsChanged { ids: Vec<Uuid>, new_items: Vec<Uuid> },
    /// The server refused a local op; its effect was rolled back.
    Rejected(RejectionNotice),
    /// Matters, units, sites, colleagues or the calendar changed.
    CatalogueChanged,
}

#[derive(Debug, Clone)]
struct Session {
    token: SessionToken,
    user: UserInfo,
    must_change_password: bool,
}

const NO_ENDPOINT: usize = usize::MAX;

#[derive(Debug)]
pub(crate) struct Inner {
    pub config: ClientConfig,
    pub store: Store,
    pub transport: Transport,
    client_id: Mutex<Uuid>,
    session: Mutex<Option<Session>>,
    offset_ms: AtomicI64,
    /// The endpoint that last worked (tried first).
    hint: AtomicUsize,
    pub status: watch::Sender<SyncStatus>,
    events: broadcast::Sender<CacheEvent>,
    /// A local op was recorded.
    pub wake: Notify,
    /// The session changed: retry at once.
    pub kick: Notify,
    sync_lock: tokio::sync::Mutex<()>,
}

/// The desk core. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Desk {
    pub(crate) inner: Arc<Inner>,
}

/// A running background sync loop.
#[derive(Debug)]
pub struct SyncHandle {
    stop: watch::Sender<bool>,
    join: tokio::task::JoinHandle<()>,
}

impl SyncHandle {
    /// Stops the loop and waits for it to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.join.await;
    }
}

impl Desk {
    /// Opens (or creates) the encrypted cache. Wrong key / not a cache → [`Error::CacheKeyOrCorrupt`].
    pub async fn open(config: ClientConfig) -> Result<Desk> {
        let store = Store::open(&config.cache_path, &config.cache_key).await?;
        let client_id = store.client_id().await?;
        let offset = store
            .meta("server_offset_ms")
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let last_sync = store
            .meta("last_sync")
            .await?
            .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
            .map(|t| t.with_timezone(&Utc));
        let pending = store.pending_count().await?;
        let transport = Transport::new(&config)?;
        let today = to_local(Utc::now() + chrono::Duration::milliseconds(offset)).date();
        let calendar_warning =
            Clocks::new(store.calendar().await?.as_ref(), Vec::new(), Vec::new()).calendar_warning(today);
        let (status, _) = watch::channel(SyncStatus {
            pending,
            last_sync,
            server_offset_ms: offset,
            calendar_warning,
            ..Default::default()
        });
        let (events, _) = broadcast::channel(1024);
        Ok(Desk {
            inner: Arc::new(Inner {
                config,
                store,
                transport,
                client_id: Mutex::new(client_id),
                session: Mutex::new(None),
                offset_ms: AtomicI64::new(offset),
                hint: AtomicUsize::new(NO_ENDPOINT),
                status,
                events,
                wake: Notify::new(),
                kick: Notify::new(),
                sync_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The cache, for tests and tools.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    pub fn client_id(&self) -> Uuid {
        *lock(&self.inner.client_id)
    }

    /// Closes the cache (after stopping any sync loop).
    pub async fn close(&self) {
        self.inner.store.close().await;
    }

    // ------------------------------------------------------------------ session

    /// Logs in, trying the endpoints in order (the last one that worked first).
    pub async fn login(&self, username: &str, password: &str) -> Result<LoginOutcome> {
        self.switch_user_if_needed(username).await?;
        let mut retried = false;
        loop {
            let request = LoginRequest {
                username: username.to_owned(),
                password: password.to_owned(),
                client_id: self.client_id(),
                device: self.inner.config.device.clone(),
            };
            let result = self
                .on_any_endpoint(|i| {
                    let request = request.clone();
                    async move {
                        self.inner
                            .transport
                            .post::<_, LoginResponse>(i, paths::LOGIN, &request, None)
                            .await
                    }
                })
                .await;
            match result {
                Ok((i, resp)) => {
                    self.set_offset(resp.server_time, Utc::now(), false);
                    self.inner.hint.store(i, Ordering::Relaxed);
                    self.inner.store.set_user(&resp.user).await?;
                    self.inner.store.set_meta("username", username).await?;
                    *lock(&self.inner.session) = Some(Session {
                        token: SessionToken(resp.token.clone()),
                        user: resp.user.clone(),
                        must_change_password: resp.must_change_password,
                    });
                    self.inner.status.send_modify(|s| s.session_lost = false);
                    self.inner.kick.notify_one();
                    return Ok(LoginOutcome {
                        user: resp.user,
                        must_change_password: resp.must_change_password,
                    });
                }
                // The id belongs to someone else (e.g. the cache was copied): start afresh if
                // nothing of ours is waiting.
                Err(Error::Api { error, .. })
                    if error.code == shimin_protocol::codes::CLIENT_MISMATCH
                        && !retried
                        && self.inner.store.pending_count().await? == 0 =>
                {
                    retried = true;
                    self.reset_cache_identity().await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Resumes a session whose token the app kept (keyring), without network.
    pub async fn resume(&self, token: SessionToken, user: UserInfo) -> Result<()> {
        self.switch_user_if_needed(&user.username).await?;
        self.inner.store.set_user(&user).await?;
        self.inner.store.set_meta("username", &user.username).await?;
        *lock(&self.inner.session) = Some(Session {
            token,
            user,
            must_change_password: false,
        });
        self.inner.status.send_modify(|s| s.session_lost = false);
        self.inner.kick.notify_one();
        Ok(())
    }

    /// The current session's token (for the keyring).
    pub fn session(&self) -> Option<SessionToken> {
        lock(&self.inner.session).as_ref().map(|s| s.token.clone())
    }

    /// The logged-in user.
    pub fn user(&self) -> Option<UserInfo> {
        lock(&self.inner.session).as_ref().map(|s| s.user.clone())
    }

    /// Ends the session: forgets the token, tells the server if it can be reached.
    pub async fn logout(&self) -> Result<()> {
        let session = lock(&self.inner.session).take();
        if let Some(s) = session {
            let _ = self
                .on_any_endpoint(|i| {
                    let token = s.token.clone();
                    async move {
                        self.inner
                            .transport
                            .post_raw(i, paths::LOGOUT, &serde_json::json!({}), Some(token.expose()))
                            .await
                    }
                })
                .await;
        }
        Ok(())
    }

    /// Changes the password (R-PWD is checked locally first, then by the server).
    pub async fn change_password(&self, old: &str, new: &str) -> Result<()> {
        if let Err(problems) = shimin_domain::password::check_password(new) {
            return Err(Error::WeakPassword {
                problems: problems.iter().map(|p| p.code()).collect(),
            });
        }
        let token = self.session().ok_or(Error::NotLoggedIn)?;
        let body = ChangePasswordRequest {
            old_password: old.to_owned(),
            new_password: new.to_owned(),
        };
        let (_, bytes) = self
            .on_any_endpoint(|i| {
                let token = token.clone();
                let body = body.clone();
                async move {
                    self.inner
                        .transport
                        .post_raw(i, paths::PASSWORD, &body, Some(token.expose()))
                        .await
                }
            })
            .await?;
        let mut session = lock(&self.inner.session);
        if let Some(s) = session.as_mut() {
            s.must_change_password = false;
            // A server may hand out a fresh session with the answer.
            if let Ok(resp) = serde_json::from_slice::<LoginResponse>(&bytes) {
                s.token = SessionToken(resp.token);
                s.user = resp.user;
            }
        }
        drop(session);
        self.inner.kick.notify_one();
        Ok(())
    }

    /// Marks the user away (暂离) or back on duty. The server records it as a colleague
    /// change, so while the A clerk is away every desk routes new reservations to B (R-AB).
    pub async fn set_away(&self, away: bool) -> Result<()> {
        let token = self.session().ok_or(Error::NotLoggedIn)?;
        let body = SetPresence {
            presence: if away { Presence::Away } else { Presence::OnDuty },
        };
        self.on_any_endpoint(|i| {
            let token = token.clone();
            let body = body.clone();
            async move {
                self.inner
                    .transport
                    .write_raw(
                        i,
                        reqwest::Method::PUT,
                        paths::PRESENCE,
                        &body,
                        Some(token.expose()),
                    )
                    .await
            }
        })
        .await?;
        // Pull the own presence back soon, like any other change.
        self.inner.wake.notify_one();
        Ok(())
    }

    async fn switch_user_if_needed(&self, username: &str) -> Result<()> {
        let previous = self.inner.store.meta("username").await?;
        if previous.is_some_and(|p| p != username) {
            self.reset_cache_identity().await?;
        }
        Ok(())
    }

    async fn reset_cache_identity(&self) -> Result<()> {
        self.inner.store.reset_for_new_user().await?;
        *lock(&self.inner.client_id) = self.inner.store.client_id().await?;
        self.emit(CacheEvent::ItemsChanged {
            ids: Vec::new(),
            new_items: Vec::new(),
        });
        self.emit(CacheEvent::CatalogueChanged);
        Ok(())
    }

    /// Runs `f` on the last endpoint that worked, then on the others in order, moving on only
    /// when an endpoint cannot be reached.
    pub(crate) async fn on_any_endpoint<T, F, Fut>(&self, f: F) -> Result<(usize, T)>
    where
        F: Fn(usize) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let n = self.inner.transport.len();
        let hint = self.inner.hint.load(Ordering::Relaxed);
        let order = (hint < n)
            .then_some(hint)
            .into_iter()
            .chain((0..n).filter(|i| *i != hint));
        let mut tried = Vec::new();
        let mut last_error = String::from("未配置服务器地址");
        let mut refused = None;
        for i in order {
            match f(i).await {
                Ok(v) => return Ok((i, v)),
                Err(e) if e.is_unreachable() => {
                    self.note_endpoint_failure(&e);
                    tried.push(self.inner.transport.name(i));
                    last_error = e.to_string();
                    if e.is_transport_security() {
                        refused.get_or_insert(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        // A refused certificate or plain address says more than "all down": the clerk (and IT)
        // must see that the desk refused, not that the network failed.
        Err(refused.unwrap_or(Error::AllEndpointsDown { tried, last_error }))
    }

    /// Keeps a transport-security refusal visible in the status (never a silent move to the
    /// next endpoint).
    pub(crate) fn note_endpoint_failure(&self, e: &Error) {
        if let Some(problem) = SecurityProblem::of(e) {
            tracing::warn!(endpoint = %problem.endpoint, code = %problem.code, "endpoint refused for transport security");
            self.inner
                .status
                .send_modify(|s| s.security_problem = Some(problem));
        }
    }

    /// Endpoint `i` worked: a refusal noted for it is over.
    pub(crate) fn note_endpoint_ok(&self, i: usize) {
        let name = self.inner.transport.name(i);
        self.inner.status.send_if_modified(|s| {
            let clear = s.security_problem.as_ref().is_some_and(|p| p.endpoint == name);
            if clear {
                s.security_problem = None;
            }
            clear
        });
    }

    // ------------------------------------------------------------------ sync

    /// Pushes the outbox, then pulls until the end of the snapshot.
    pub async fn sync_now(&self) -> Result<SyncReport> {
        let result = self.on_any_endpoint(|i| self.sync_on(i)).await;
        match result {
            Ok((i, report)) => {
                self.note_endpoint_ok(i);
                Ok(report)
            }
            Err(e) => {
                self.inner.status.send_modify(|s| {
                    if e.is_unreachable() {
                        s.online = false;
                        s.live = false;
                        s.endpoint = None;
                        s.endpoint_url = None;
                        s.security = None;
                    }
                    s.last_error = Some(e.to_string());
                });
                Err(e)
            }
        }
    }

    /// One push + pull round on endpoint `i`.
    pub(crate) async fn sync_on(&self, i: usize) -> Result<SyncReport> {
        let _one_at_a_time = self.inner.sync_lock.lock().await;
        let session = lock(&self.inner.session).clone().ok_or(Error::NotLoggedIn)?;
        if session.must_change_password {
            return Err(Error::PasswordChangeRequired);
        }
        let token = session.token.expose();
        let transport = &self.inner.transport;
        let store = &self.inner.store;
        let mut report = SyncReport::default();

        // Attachments first: an op referring to a file reaches the server after the file.
        for hash in store.blobs_to_upload().await? {
            self.upload_blob(i, token, &hash).await?;
            // Progress for the status bar: a village's photos take a while on a weak uplink.
            self.publish_pending().await;
        }

        // Push, oldest first. A batch that fails in transit is resent as-is next time; the
        // server answers replays with the stored results.
        let mut renumbered = false;
        loop {
            let batch = store.outbox_batch(MAX_PUSH_BATCH).await?;
            if batch.is_empty() {
                break;
            }
            let request = PushRequest {
                client_id: self.client_id(),
                mutations: batch,
            };
            let resp: PushResponse = match transport.post(i, paths::PUSH, &request, Some(token)).await {
                Ok(resp) => resp,
                // The server's numbering of this client continues elsewhere (it was restored
                // to an older state): renumber what is pending and send it again, once.
                Err(Error::Api { error, .. }) if error.code == codes::SEQUENCE_GAP && !renumbered => {
                    let expected = error
                        .details
                        .as_ref()
                        .and_then(|d| d.get("expected"))
                        .and_then(|e| e.as_i64())
                        .ok_or_else(|| Error::Protocol("sequence_gap without expected".into()))?;
                    store.renumber_outbox(expected).await?;
                    renumbered = true;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let applied = store.apply_push(&resp.results, resp.server_time).await?;
            let settled = applied.applied + applied.rejected.len() as u64;
            report.pushed_applied += applied.applied;
            report.pushed_rejected += applied.rejected.len() as u64;
            for notice in applied.rejected {
                self.emit(CacheEvent::Rejected(notice));
            }
            if !applied.ids.is_empty() {
                self.emit(CacheEvent::ItemsChanged {
                    ids: applied.ids,
                    new_items: Vec::new(),
                });
            }
            self.publish_pending().await;
            if settled == 0 {
                return Err(Error::Protocol(format!(
                    "push of seq {}.. answered without results (server last_seq {})",
                    request.mutations[0].seq, resp.last_seq
                )));
            }
        }

        report.reveals_handed_in = self.hand_in_reveals(i, token).await?;
        report.ticket_events_handed_in = self.hand_in_ticket_events(i, token).await?;

        // Pull pages until the end of the snapshot; each page commits with its cursor.
        let mut restarted = false;
        loop {
            let cursor = store.cursor().await?;
            let query = [
                ("cursor", cursor.to_string()),
                ("limit", MAX_PULL_LIMIT.to_string()),
            ];
            let page: PullResponse = match transport.get(i, paths::PULL, &query, Some(token)).await {
                Ok(page) => page,
                // Our cursor is beyond everything the server has: it was restored.
                Err(Error::Api { error, .. }) if error.code == codes::CURSOR_AHEAD && !restarted => {
                    store.restart_sync(None).await?;
                    restarted = true;
                    continue;
                }
                Err(e) => return Err(e),
            };
            // Another timeline (a restored backup): cursors of the old one mean nothing here.
            let known = store.epoch().await?;
            if let (Some(known), Some(now)) = (known.as_deref(), page.epoch.as_deref()) {
                if known != now && !restarted && cursor > 0 {
                    store.restart_sync(Some(now)).await?;
                    restarted = true;
                    continue;
                }
            }
            let applied = store.apply_pull(&page).await?;
            report.pulled_changes += applied.changes;
            report.cursor = page.cursor;
            if !applied.ids.is_empty() {
                self.emit(CacheEvent::ItemsChanged {
                    ids: applied.ids,
                    new_items: applied.new_items,
                });
            }
            if applied.catalogue_changed {
                self.emit(CacheEvent::CatalogueChanged);
            }
            if !page.has_more || (page.changes.is_empty() && page.cursor <= cursor) {
                break;
            }
        }

        let now = Utc::now();
        store.set_meta("last_sync", &now.to_rfc3339()).await?;
        store
            .set_meta(
                "server_offset_ms",
                &self.inner.offset_ms.load(Ordering::Relaxed).to_string(),
            )
            .await?;
        self.inner.hint.store(i, Ordering::Relaxed);
        let pending = store.pending_count().await?;
        let calendar_warning = self.calendar_warning().await?;
        self.inner.status.send_modify(|s| {
            s.calendar_warning = calendar_warning;
            s.online = true;
            s.endpoint = Some(transport.name(i));
            s.endpoint_url = Some(transport.url(i));
            s.security = transport.security(i);
            s.last_sync = Some(now);
            s.pending = pending;
            s.last_error = None;
        });
        Ok(report)
    }

    /// Hands in the queued reveals (oldest first, in batches). Returns how many.
    async fn hand_in_reveals(&self, i: usize, token: &str) -> Result<u64> {
        let store = &self.inner.store;
        self.hand_in(
            HandIn {
                i,
                token,
                path: paths::REVEALS,
                batch: MAX_REVEAL_BATCH,
            },
            |n| store.pending_reveals(n),
            |r: &Reveal| r.id,
            |reveals| RevealBatch { reveals },
            |ids| async move { store.forget_reveals(&ids).await },
        )
        .await
    }

    /// Hands in the queued counter events (oldest first, in batches). Returns how many.
    async fn hand_in_ticket_events(&self, i: usize, token: &str) -> Result<u64> {
        let store = &self.inner.store;
        self.hand_in(
            HandIn {
                i,
                token,
                path: paths::TICKET_EVENTS,
                batch: MAX_TICKET_EVENT_BATCH,
            },
            |n| store.pending_ticket_events(n),
            |e: &TicketEvent| e.id,
            |events| TicketEventBatch { events },
            |ids| async move { store.forget_ticket_events(&ids).await },
        )
        .await
    }

    /// Hands in records the cache keeps until the server has them (reveals, counter events):
    /// the oldest batch, then forgets that batch once the server answered (it records each by
    /// its id once, so a batch sent again after a lost answer counts once), until none is left.
    async fn hand_in<T, B, P, PF, F, FF>(
        &self,
        to: HandIn<'_>,
        pending: P,
        id: fn(&T) -> Uuid,
        batch: fn(Vec<T>) -> B,
        forget: F,
    ) -> Result<u64>
    where
        B: Serialize,
        P: Fn(usize) -> PF,
        PF: std::future::Future<Output = Result<Vec<T>>>,
        F: Fn(Vec<Uuid>) -> FF,
        FF: std::future::Future<Output = Result<()>>,
    {
        let mut handed_in = 0;
        loop {
            let records = pending(to.batch).await?;
            if records.is_empty() {
                return Ok(handed_in);
            }
            let ids: Vec<Uuid> = records.iter().map(id).collect();
            let _: serde::de::IgnoredAny = self
                .inner
                .transport
                .post(to.i, to.path, &batch(records), Some(to.token))
                .await?;
            handed_in += ids.len() as u64;
            forget(ids).await?;
        }
    }

    /// Uploads one captured attachment in chunks, resuming where the server's copy of this
    /// user's upload stands (nothing it holds is sent again). A refusal by the server (type,
    /// size, hash) is recorded on the blob, which stays in the cache: nothing captured is lost.
    async fn upload_blob(&self, i: usize, token: &str, hash: &str) -> Result<()> {
        use shimin_protocol::{codes, BlobUploadStart, BlobUploadState, BLOB_CHUNK_BYTES};
        let store = &self.inner.store;
        let transport = &self.inner.transport;
        let Some((mime, data)) = store.blob(hash).await? else {
            return Ok(());
        };
        let start = BlobUploadStart {
            hash: hash.to_owned(),
            size: data.len() as u64,
            mime,
        };
        let path = paths::BLOB.replace("{hash}", hash);
        let refused = |e: &Error| match e {
            Error::Api { error, .. } => {
                error.code.starts_with("attachment_") || error.code == codes::HASH_MISMATCH
            }
            _ => false,
        };
        let mut state: BlobUploadState = match transport.post(i, paths::BLOBS, &start, Some(token)).await {
            Ok(s) => s,
            Err(e) if refused(&e) => {
                tracing::warn!(code = e.code(), "attachment refused by the server; kept locally");
                return store.set_blob_uploaded(hash, Some(&e.to_string())).await;
            }
            Err(e) => return Err(e),
        };
        while !state.complete {
            let from = state.received as usize;
            let to = (from + BLOB_CHUNK_BYTES).min(data.len());
            let chunk = data[from..to].to_vec();
            let sha = crate::attachment::sha256_hex(&chunk);
            match transport
                .put_chunk(i, &path, from as u64, chunk, &sha, token)
                .await
            {
                Ok(s) => state = s,
                Err(Error::Api { error, .. }) if error.code == codes::UPLOAD_OFFSET => {
                    let received = error
                        .details
                        .as_ref()
                        .and_then(|d| d.get("received"))
                        .and_then(|v| v.as_u64())
                        .ok_or_else(|| Error::Protocol("upload_offset without received".into()))?;
                    state.received = received;
                }
                Err(e) if refused(&e) => {
                    tracing::warn!(code = e.code(), "attachment refused by the server; kept locally");
                    return store.set_blob_uploaded(hash, Some(&e.to_string())).await;
                }
                Err(e) => return Err(e),
            }
        }
        store.set_blob_uploaded(hash, None).await
    }

    /// Starts the background sync loop (live stream, polling fallback, failover).
    pub fn start(&self) -> SyncHandle {
        let (stop, stop_rx) = watch::channel(false);
        let join = tokio::spawn(driver::run(self.clone(), stop_rx));
        SyncHandle { stop, join }
    }

    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.inner.status.subscribe()
    }

    pub fn changes(&self) -> broadcast::Receiver<CacheEvent> {
        self.inner.events.subscribe()
    }

    pub(crate) fn emit(&self, event: CacheEvent) {
        let _ = self.inner.events.send(event);
    }

    async fn publish_pending(&self) {
        let store = &self.inner.store;
        if let (Ok(n), Ok(uploads)) = (store.pending_count().await, store.uploads_pending().await) {
            self.inner.status.send_if_modified(|s| {
                let changed = s.pending != n || s.uploads_pending != uploads;
                s.pending = n;
                s.uploads_pending = uploads;
                changed
            });
        }
    }

    /// Records a measured offset (server clock − local clock at `local`).
    pub(crate) fn set_offset(&self, server: DateTime<Utc>, local: DateTime<Utc>, precise: bool) {
        self.set_offset_ms((server - local).num_milliseconds(), precise);
    }

    pub(crate) fn set_offset_ms(&self, offset: i64, precise: bool) {
        // A rough value (login answer) only replaces "unknown".
        if precise || self.inner.offset_ms.load(Ordering::Relaxed) == 0 {
            self.inner.offset_ms.store(offset, Ordering::Relaxed);
            self.inner.status.send_if_modified(|s| {
                let changed = s.server_offset_ms != offset;
                s.server_offset_ms = offset;
                changed
            });
        }
    }

    /// Local clock corrected by the measured server offset.
    pub fn server_now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.inner.offset_ms.load(Ordering::Relaxed))
    }

    pub(crate) fn token(&self) -> Option<SessionToken> {
        self.session()
    }

    // ------------------------------------------------------------------ items

    /// Acts on an item: checks the op and the rules against the current local view, then
    /// records it durably in the outbox and applies it to the view, in one transaction.
    /// Works offline; wakes the sync loop.
    pub async fn act(&self, item_id: Uuid, op: Op) -> Result<ItemView> {
        op.validate()?;
        let who = self.op_actor()?;
        let view = self
            .inner
            .store
            .enqueue(item_id, &op, &who, self.server_now())
            .await?;
        self.after_local_change(item_id).await;
        Ok(view)
    }

    /// Shows `field` of item `item_id` in full (显示完整号码): the value from the cache, at once
    /// and offline too, with a record of the act queued for the server's audit trail (handed
    /// in by the next sync, which this wakes). Lists and screens show these fields masked.
    pub async fn reveal(&self, item_id: Uuid, field: PersonalField) -> Result<String> {
        if !self.op_actor()?.actor().holds_personal_data() {
            return Err(Error::Refused {
                code: "not_permitted",
                message: "监督人员只能查看脱敏信息",
            });
        }
        let item = self
            .inner
            .store
            .item(item_id)
            .await?
            .ok_or(Error::ItemNotFound(item_id))?;
        let applicant = &item.record.applicant;
        let value = match field {
            PersonalField::IdNumber => applicant.id_number.clone(),
            PersonalField::Phone => applicant.phone.clone(),
        };
        if !value.is_empty() {
            self.inner
                .store
                .queue_reveal(item_id, field, self.server_now())
                .await?;
            self.inner.wake.notify_one();
        }
        Ok(value)
    }

    /// Records a step of a hall ticket at this counter (叫号, 挂起, 办结, …): queued in the cache
    /// at once, offline too, and handed in by the next sync, which this wakes.
    pub async fn record_ticket_event(&self, event: &TicketEvent) -> Result<()> {
        let actor = self.op_actor()?.actor();
        if !shimin_domain::counter::may_record(&actor) {
            return Err(Error::Refused {
                code: "not_permitted",
                message: "只有窗口人员记录叫号",
            });
        }
        self.inner.store.queue_ticket_event(event).await?;
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Today's latest calls at this user's site, newest first (the hall screen), from the server.
    pub async fn hall_calls(&self) -> Result<Vec<HallCall>> {
        self.get_authorized(paths::HALL_CALLS, &[]).await
    }

    /// Today's tickets sent to window `window` of this user's site (转窗), oldest first.
    pub async fn counter_transfers(&self, window: u32) -> Result<Vec<TransferredTicket>> {
        self.get_authorized(paths::COUNTER_TRANSFERS, &[("window", window.to_string())])
            .await
    }

    /// The tickets of a local day this user may see, with their waiting and service times.
    pub async fn ticket_reports(&self, day: chrono::NaiveDate) -> Result<Vec<TicketReport>> {
        self.get_authorized(paths::COUNTER_TICKETS, &[("day", day.to_string())])
            .await
    }

    /// The statistics (R-STAT) of this user's scope for the local days `from..=to`.
    pub async fn stats(&self, from: chrono::NaiveDate, to: chrono::NaiveDate) -> Result<StatsReport> {
        self.get_authorized(
            paths::STATS,
            &[("from", from.to_string()), ("to", to.to_string())],
        )
        .await
    }

    /// The supervision cases (督办) this user may read (`open_only`: those not closed).
    pub async fn supervision_cases(&self, open_only: bool) -> Result<Vec<SupervisionCase>> {
        self.get_authorized(paths::SUPERVISION_CASES, &[("open", open_only.to_string())])
            .await
    }

    /// The unit's answer to case `id` (its leader): cause and correction.
    pub async fn answer_case(&self, id: i64, answer: &AnswerCase) -> Result<SupervisionCase> {
        let path = paths::SUPERVISION_CASE_ANSWER.replace("{id}", &id.to_string());
        self.post_authorized(&path, answer).await
    }

    /// A move on case `id` with a note: a supervisor's close, return, uphold or reject, the
    /// unit's appeal (an answer is [`Desk::answer_case`]).
    pub async fn case_step(&self, id: i64, action: CaseAction, note: &str) -> Result<SupervisionCase> {
        let path = match action {
            CaseAction::Close => paths::SUPERVISION_CASE_CLOSE,
            CaseAction::Return => paths::SUPERVISION_CASE_RETURN,
            CaseAction::Appeal => paths::SUPERVISION_CASE_APPEAL,
            CaseAction::Uphold => paths::SUPERVISION_CASE_UPHOLD,
            CaseAction::Reject => paths::SUPERVISION_CASE_REJECT,
            CaseAction::Open | CaseAction::Answer => {
                return Err(Error::InvalidOp {
                    field: "action",
                    message: "此操作不能在这里进行",
                })
            }
        };
        let body = ReviewCase {
            note: note.to_owned(),
        };
        self.post_authorized(&path.replace("{id}", &id.to_string()), &body)
            .await
    }

    /// A `POST` with the session's token, on whichever endpoint answers. Only for requests a
    /// second delivery cannot harm (a refused repeat is the server's answer).
    async fn post_authorized<B: serde::Serialize + Sync, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let token = self.session().ok_or(Error::NotLoggedIn)?;
        let (_, value) = self
            .on_any_endpoint(|i| {
                let token = token.clone();
                async move {
                    self.inner
                        .transport
                        .post(i, path, body, Some(token.expose()))
                        .await
                }
            })
            .await?;
        Ok(value)
    }

    /// A `GET` with the session's token, on whichever endpoint answers.
    async fn get_authorized<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T> {
        let token = self.session().ok_or(Error::NotLoggedIn)?;
        let (_, value) = self
            .on_any_endpoint(|i| {
                let token = token.clone();
                async move {
                    self.inner
                        .transport
                        .get(i, path, query, Some(token.expose()))
                        .await
                }
            })
            .await?;
        Ok(value)
    }

    /// The acting user, as ops record it.
    fn op_actor(&self) -> Result<OpActor> {
        let session = lock(&self.inner.session).clone().ok_or(Error::NotLoggedIn)?;
        if session.must_change_password {
            return Err(Error::PasswordChangeRequired);
        }
        Ok(OpActor {
            user_id: session.user.id,
            role: session.user.role,
            unit_id: session.user.unit_id,
            name: session.user.display_name.clone(),
        })
    }

    /// Registers a delegated case (agents), offline: the case exists in the cache at once,
    /// under a local number, and reaches the server with the next sync.
    pub async fn register_case(&self, case: NewCase) -> Result<ItemView> {
        let who = self.op_actor()?;
        shimin_domain::item::may_register_case(&who.actor())?;
        let matter = self
            .inner
            .store
            .matters()
            .await?
            .into_iter()
            .find(|m| m.id == case.matter_id)
            .ok_or(Error::InvalidOp {
                field: "matter_id",
                message: "事项不存在",
            })?;
        let op = Op::RegisterCase {
            matter_id: case.matter_id,
            applicant: case.applicant,
            content: case.content,
            place: case.place,
        };
        op.check_payload()?;
        let at = self.server_now();
        let record = crate::view::registered_case(Uuid::now_v7(), &matter, &op, &who, at)?;
        let view = self.inner.store.enqueue_create(&record, &op, &who, at).await?;
        self.after_local_change(record.id).await;
        Ok(view)
    }

    /// Checks, prepares (photos downscaled, metadata stripped) and stores a file in the
    /// encrypted cache, without attaching it (a delivery proof). Nothing is stored when the
    /// file is refused.
    pub async fn store_file(
        &self,
        file_name: &str,
        material: &str,
        bytes: Vec<u8>,
    ) -> Result<shimin_protocol::AttachmentRef> {
        let name = file_name.to_owned();
        let prepared = tokio::task::spawn_blocking(move || crate::attachment::prepare(&name, bytes))
            .await
            .map_err(|e| Error::Protocol(format!("attachment task: {e}")))??;
        self.inner
            .store
            .put_blob(&prepared.hash, prepared.file_type.mime(), &prepared.bytes, false)
            .await?;
        Ok(prepared.reference(file_name, material))
    }

    /// Captures a file for one material of a delegated case: [`Desk::store_file`], then the
    /// `add_attachment` op. Works offline; the file uploads with the next sync.
    pub async fn attach_file(
        &self,
        item_id: Uuid,
        material: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<(shimin_protocol::AttachmentRef, ItemView)> {
        // Refuse early when the case does not take files now (before any CPU is spent).
        let who = self.op_actor()?;
        let item = self.item(item_id).await?.ok_or(Error::ItemNotFound(item_id))?;
        shimin_domain::item::decide(
            &crate::view::facts(&item.record),
            &who.actor(),
            shimin_domain::item::Command::AddAttachment,
        )?;
        let attachment = self.store_file(file_name, material, bytes).await?;
        let view = self
            .act(
                item_id,
                Op::AddAttachment {
                    attachment: attachment.clone(),
                },
            )
            .await?;
        Ok((attachment, view))
    }

    /// An attachment's type and bytes: from the cache, else from the server (then cached,
    /// encrypted like everything else).
    pub async fn attachment(&self, hash: &str) -> Result<(String, Vec<u8>)> {
        if let Some(found) = self.inner.store.blob(hash).await? {
            return Ok(found);
        }
        if !shimin_protocol::is_hash(hash) {
            return Err(Error::AttachmentNotFound);
        }
        let token = self.session().ok_or(Error::NotLoggedIn)?;
        let path = paths::BLOB.replace("{hash}", hash);
        let fetched = self
            .on_any_endpoint(|i| {
                let (path, token) = (path.clone(), token.clone());
                async move { self.inner.transport.get_bytes(i, &path, token.expose()).await }
            })
            .await;
        let (mime, bytes) = match fetched {
            Ok((_, found)) => found,
            Err(Error::Api { status: 404, .. }) => return Err(Error::AttachmentNotFound),
            Err(e) => return Err(e),
        };
        if crate::attachment::sha256_hex(&bytes) != hash {
            return Err(Error::Protocol("attachment does not match its hash".into()));
        }
        self.inner.store.put_blob(hash, &mime, &bytes, true).await?;
        Ok((mime, bytes))
    }

    /// After a local op: the pending count, the cache event, a sync soon.
    async fn after_local_change(&self, item_id: Uuid) {
        self.publish_pending().await;
        self.emit(CacheEvent::ItemsChanged {
            ids: vec![item_id],
            new_items: Vec::new(),
        });
        self.inner.wake.notify_one();
    }

    pub async fn queue(&self, q: QueueQuery) -> Result<Vec<ItemView>> {
        let me = match self.user() {
            Some(u) => Some(u),
            None => self.inner.store.user().await?,
        };
        self.inner.store.queue(&q, me.as_ref(), self.server_now()).await
    }

    pub async fn item(&self, id: Uuid) -> Result<Option<ItemView>> {
        self.inner.store.item(id).await
    }

    pub async fn pending_count(&self) -> Result<u64> {
        self.inner.store.pending_count().await
    }

    pub async fn rejections(&self) -> Result<Vec<RejectionNotice>> {
        self.inner.store.rejections().await
    }

    pub async fn dismiss_rejection(&self, mutation_id: Uuid) -> Result<()> {
        self.inner.store.dismiss_rejection(mutation_id).await
    }

    pub async fn matters(&self) -> Result<Vec<Matter>> {
        self.inner.store.matters().await
    }

    pub async fn units(&self) -> Result<Vec<Unit>> {
        self.inner.store.units().await
    }

    pub async fn colleagues(&self) -> Result<Vec<Colleague>> {
        self.inner.store.colleagues().await
    }

    // ------------------------------------------------------------------ clocks

    /// A snapshot of the cached calendar, matters and colleagues for computing many countdowns
    /// and ladders (see [`Clocks`]).
    pub async fn clocks(&self) -> Result<Clocks> {
        let store = &self.inner.store;
        Ok(Clocks::new(
            store.calendar().await?.as_ref(),
            store.matters().await?,
            store.colleagues().await?,
        ))
    }

    /// The countdown of the item's running statutory clock at server time (`None`: no clock
    /// runs). Works offline.
    pub async fn countdown(&self, item: &ItemView) -> Result<Option<Countdown>> {
        self.clocks().await?.countdown(item, self.server_now())
    }

    /// The notification ladder of an open reservation with the people it goes to (empty for
    /// other items).
    pub async fn ladder_steps(&self, item: &ItemView) -> Result<Vec<LadderNotice>> {
        self.clocks().await?.ladder_steps(item)
    }

    /// For every open reservation in the cache, the ladder steps reached by `now` (server
    /// time; see [`Desk::server_now`]). Reservations without a reached step are left out.
    pub async fn due_ladder_steps(&self, now: DateTime<Utc>) -> Result<Vec<DueLadder>> {
        let clocks = self.clocks().await?;
        let mut q = QueueQuery::new(QueueView::Kind("reservation".to_owned()));
        q.limit = u32::MAX;
        let mut out = Vec::new();
        for item in self.inner.store.queue(&q, None, now).await? {
            let steps = clocks.due_ladder_steps(&item, now)?;
            if !steps.is_empty() {
                out.push(DueLadder {
                    item_id: item.record.id,
                    number: item.record.number.clone(),
                    steps,
                });
            }
        }
        Ok(out)
    }

    /// The missing-schedule warning today (local date of server time).
    pub async fn calendar_warning(&self) -> Result<Option<CalendarWarning>> {
        self.calendar_warning_on(to_local(self.server_now()).date()).await
    }

    /// The missing-schedule warning on a given local date.
    pub async fn calendar_warning_on(&self, today: chrono::NaiveDate) -> Result<Option<CalendarWarning>> {
        let wire = self.inner.store.calendar().await?;
        Ok(Clocks::new(wire.as_ref(), Vec::new(), Vec::new()).calendar_warning(today))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
