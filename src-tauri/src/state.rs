//! The shell's state: settings, the desk core once opened, the running session's background
//! tasks (sync loop, event forwarding, the reservation ladder).

use crate::counter::CounterBook;
use crate::error::{CmdResult, DeskError};
use crate::secrets::Secrets;
use crate::settings::{Paths, Settings};
use crate::views::{Lookup, SessionView, StatusView};
use shimin_client::{ClientConfig, Desk, Error as ClientError, SyncHandle};
use shimin_protocol::UserInfo;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One logged-in session's running parts.
#[derive(Debug)]
pub struct Live {
    pub sync: SyncHandle,
    pub tasks: Vec<tauri::async_runtime::JoinHandle<()>>,
}

#[derive(Debug)]
pub struct AppState {
    pub paths: Paths,
    pub settings: Mutex<Settings>,
    pub desk: tokio::sync::Mutex<Option<Desk>>,
    pub live: tokio::sync::Mutex<Option<Live>>,
    pub remembered: AtomicBool,
    /// The user marked themself away (from the cached colleague record).
    pub away: AtomicBool,
    /// Open reservations waiting for this user (reached ladder steps addressed to them).
    pub attention: AtomicU32,
    pub counter: Mutex<CounterBook>,
    /// The revision of the last status view built ([`StatusView::revision`]).
    pub status_revision: AtomicU64,
    /// The desktop notifications on the screen.
    pub toasts: crate::toasts::Toasts,
}

pub type Shared = Arc<AppState>;

pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    pub fn new(paths: Paths) -> AppState {
        let settings = Settings::load(&paths.settings_file());
        if let Err(e) = settings.save(&paths.settings_file()) {
            tracing::warn!(error = %e, "settings file not writable");
        }
        let counter = std::fs::read(paths.counter_file())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        AppState {
            paths,
            settings: Mutex::new(settings),
            desk: tokio::sync::Mutex::new(None),
            live: tokio::sync::Mutex::new(None),
            remembered: AtomicBool::new(false),
            away: AtomicBool::new(false),
            attention: AtomicU32::new(0),
            counter: Mutex::new(counter),
            status_revision: AtomicU64::new(0),
            toasts: crate::toasts::Toasts::default(),
        }
    }

    pub fn secrets(&self) -> Secrets {
        Secrets::new(&lock(&self.settings).installation_id)
    }

    pub fn save_settings(&self) -> CmdResult<()> {
        let s = lock(&self.settings).clone();
        s.save(&self.paths.settings_file())
            .map_err(|e| DeskError::new("settings", format!("设置无法保存：{e}")))
    }

    pub fn save_counter(&self) {
        let book = lock(&self.counter).clone();
        let path = self.paths.counter_file();
        let tmp = path.with_extension("json.tmp");
        let result = serde_json::to_vec(&book)
            .map_err(std::io::Error::other)
            .and_then(|b| std::fs::write(&tmp, b))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = result {
            tracing::warn!(error = %e, "counter book not saved");
        }
    }

    /// The desk core, opened on first use with the keyring's cache key. A cache that cannot be
    /// read with that key (key lost, file damaged) is moved aside — kept, never deleted — and a
    /// fresh one is synced from the server.
    pub async fn desk(&self) -> CmdResult<Desk> {
        let mut slot = self.desk.lock().await;
        if let Some(d) = slot.as_ref() {
            return Ok(d.clone());
        }
        let (key, new_key) = self.secrets().cache_key()?;
        let cache = self.paths.cache_file();
        if new_key && cache.exists() {
            set_aside(&cache, "no key in the keyring for the existing cache");
        }
        let (endpoints, ca) = {
            let settings = lock(&self.settings);
            let ca = match &settings.machine {
                Some(m) => m.ca_pem().map_err(|e| DeskError::new("ca_bundle_invalid", e))?,
                None => None,
            };
            (settings.client_endpoints(), ca)
        };
        let mut config = ClientConfig::new(&cache, key, endpoints);
        config.county_ca_pem = ca;
        config.device = format!("shimin-desk {} ({})", crate::VERSION, std::env::consts::OS);
        let desk = match Desk::open(config.clone()).await {
            Ok(d) => d,
            Err(ClientError::CacheKeyOrCorrupt) => {
                set_aside(&cache, "cache unreadable with the keyring's key");
                Desk::open(config).await?
            }
            Err(e) => return Err(e.into()),
        };
        *slot = Some(desk.clone());
        Ok(desk)
    }

    /// Closes the desk core (after the endpoints changed); the next use reopens it.
    pub async fn close_desk(&self) {
        self.stop_live().await;
        if let Some(d) = self.desk.lock().await.take() {
            d.close().await;
        }
    }

    pub async fn stop_live(&self) {
        if let Some(live) = self.live.lock().await.take() {
            for t in &live.tasks {
                t.abort();
            }
            live.sync.stop().await;
        }
        // The session's notifications leave the screen with it (the next user must not see them).
        self.toasts.withdraw_all().await;
        self.attention.store(0, Ordering::Relaxed);
    }

    /// Names and clocks for building views.
    pub async fn lookup(&self, desk: &Desk) -> CmdResult<Lookup> {
        let units = desk.units().await?.into_iter().map(|u| (u.id, u)).collect();
        let matters = desk.matters().await?.into_iter().map(|m| (m.id, m)).collect();
        let colleagues: HashMap<_, _> = desk.colleagues().await?.into_iter().map(|c| (c.id, c)).collect();
        Ok(Lookup {
            units,
            matters,
            colleagues,
            clocks: desk.clocks().await?,
            now: desk.server_now(),
        })
    }

    pub async fn session_view(
        &self,
        desk: &Desk,
        user: &UserInfo,
        must_change: bool,
    ) -> CmdResult<SessionView> {
        Ok(SessionView {
            user: self.lookup(desk).await?.user(user),
            must_change_password: must_change,
            remembered: self.remembered.load(Ordering::Relaxed),
        })
    }

    /// Re-reads the own presence from the cached colleagues.
    pub async fn refresh_away(&self, desk: &Desk) {
        let Some(me) = desk.user() else { return };
        if let Ok(colleagues) = desk.colleagues().await {
            let away = colleagues
                .iter()
                .any(|c| c.id == me.id && c.presence == shimin_domain::ladder::Presence::Away);
            self.away.store(away, Ordering::Relaxed);
        }
    }

    pub async fn status_view(&self) -> StatusView {
        match self.desk.lock().await.as_ref() {
            Some(d) => {
                let status = d.status();
                let now = status.borrow();
                // Numbered while the status is borrowed: the sync loop cannot publish a newer
                // status in between, so a higher revision never shows an older state.
                let revision = self.status_revision.fetch_add(1, Ordering::SeqCst) + 1;
                StatusView::new(
                    &now,
                    self.away.load(Ordering::Relaxed),
                    self.attention.load(Ordering::Relaxed),
                    revision,
                )
            }
            None => StatusView::default(),
        }
    }
}

fn set_aside(cache: &std::path::Path, why: &str) {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    for suffix in ["", "-wal", "-shm"] {
        let from = std::path::PathBuf::from(format!("{}{suffix}", cache.display()));
        if from.exists() {
            let to = std::path::PathBuf::from(format!("{}.unreadable-{stamp}{suffix}", cache.display()));
            if let Err(e) = std::fs::rename(&from, &to) {
                tracing::error!(error = %e, "could not move the unreadable cache aside");
            }
        }
    }
    tracing::warn!(why, "cache moved aside; a fresh cache is synced from the server");
}
