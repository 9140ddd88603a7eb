//! 市民网窗口端 — the desk app. A thin Tauri v2 shell over `shimin-client`: commands for the UI
//! (ui/src/api/contract.ts), the OS keyring for the token and the cache key, desktop
//! notifications for reservations, the tray, single instance, autostart, window state and
//! rotating logs without personal data.

pub mod announce;
pub mod commands;
pub mod counter;
pub mod error;
pub mod notifier;
pub mod secrets;
pub mod settings;
pub mod state;
pub mod toasts;
pub mod tray;
pub mod views;

use serde::Serialize;
use shimin_client::{CacheEvent, Desk};
use state::{AppState, Live, Shared};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tauri::{AppHandle, Emitter, Manager};
use uuid::Uuid;

/// This desk's version: the package's, unless the build was given another (`SHIMIN_DESK_VERSION`,
/// see build.rs; scripts/desk-deb-at-version.sh builds the same tree one version up).
pub const VERSION: &str = env!("SHIMIN_DESK_VERSION");

pub const EVENT_STATUS: &str = "desk://status";
pub const EVENT_ITEMS_CHANGED: &str = "desk://items-changed";
pub const EVENT_REJECTED: &str = "desk://rejected";
pub const EVENT_FOCUS_ITEM: &str = "desk://focus-item";
pub const EVENT_ALERT: &str = "desk://alert";
pub const EVENT_ALERT_WITHDRAWN: &str = "desk://alert-withdrawn";
pub const EVENT_SESSION_ENDED: &str = "desk://session-ended";
/// A ticket was called at this counter (the hall screen shows it at once).
pub const EVENT_HALL_CALL: &str = "desk://hall-call";

/// The quit in progress has started closing the cache / has closed it (see `run`).
static CLOSING: AtomicBool = AtomicBool::new(false);
static CACHE_CLOSED: AtomicBool = AtomicBool::new(false);
/// How long the last-resort close at `RunEvent::Exit` may take.
const EXIT_CLOSE_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Started by the autostart entry: stay in the tray until the clerk opens the window.
const MINIMIZED_ARG: &str = "--minimized";

#[derive(Debug, Clone, Serialize)]
struct ItemsChanged {
    ids: Vec<Uuid>,
    new_items: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
struct FocusItem {
    id: Uuid,
}

#[derive(Debug, Clone, Serialize)]
struct SessionEnded {
    reason: &'static str,
}

pub async fn emit_status(app: &AppHandle, state: &Shared) {
    let _ = app.emit(EVENT_STATUS, state.status_view().await);
}

/// Shows, unminimizes and focuses the main window.
pub fn show_main(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// The notification's "open" action: the window comes forward with the item.
pub fn focus_item(app: &AppHandle, id: Uuid) {
    show_main(app);
    let _ = app.emit(EVENT_FOCUS_ITEM, FocusItem { id });
}

/// Starts the session's background work: the sync loop, forwarding of status and cache
/// events to the window and tray, the reservation ladder.
pub async fn start_live(app: &AppHandle, state: &Shared, desk: &Desk) {
    state.stop_live().await;
    state.refresh_away(desk).await;
    let sync = desk.start();
    let mut tasks = Vec::new();

    // Status → window + tray; a lost session → back to the login screen.
    let (a, s, mut rx) = (app.clone(), state.clone(), desk.status());
    tasks.push(tauri::async_runtime::spawn(async move {
        let mut lost = false;
        loop {
            let session_lost = rx.borrow_and_update().session_lost;
            emit_status(&a, &s).await;
            tray::refresh(&a, &s).await;
            if session_lost && !lost {
                tracing::info!("session no longer accepted by the server");
                let _ = a.emit(
                    EVENT_SESSION_ENDED,
                    SessionEnded {
                        reason: "登录已失效，请重新登录",
                    },
                );
            }
            lost = session_lost;
            if rx.changed().await.is_err() {
                return;
            }
        }
    }));

    // Cache events → window.
    let (a, s, d) = (app.clone(), state.clone(), desk.clone());
    let mut changes = desk.changes();
    tasks.push(tauri::async_runtime::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(CacheEvent::ItemsChanged { ids, new_items }) => {
                    let _ = a.emit(EVENT_ITEMS_CHANGED, ItemsChanged { ids, new_items });
                }
                Ok(CacheEvent::Rejected(notice)) => {
                    tracing::info!(item = %notice.item_number, code = %notice.code, "change rejected and rolled back");
                    let _ = a.emit(EVENT_REJECTED, notice);
                }
                Ok(CacheEvent::CatalogueChanged) => {
                    s.refresh_away(&d).await;
                    emit_status(&a, &s).await;
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    let _ = a.emit(
                        EVENT_ITEMS_CHANGED,
                        ItemsChanged {
                            ids: Vec::new(),
                            new_items: Vec::new(),
                        },
                    );
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }));

    tasks.push(tauri::async_runtime::spawn(notifier::agent_loop(
        app.clone(),
        state.clone(),
        desk.clone(),
    )));
    tasks.push(tauri::async_runtime::spawn(notifier::ladder_loop(
        app.clone(),
        state.clone(),
        desk.clone(),
    )));
    *state.live.lock().await = Some(Live { sync, tasks });
}

/// Logs to a daily-rotated file in the data directory (14 days kept) and to stderr. Nothing
/// logged carries a citizen's personal data: items are named by number only, and the
/// protocol types redact applicants and secrets in `Debug`.
fn init_logging(paths: &settings::Paths) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::{fmt, prelude::*, EnvFilter};
    let filter = EnvFilter::try_from_env("SHIMIN_DESK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("desk")
        .filename_suffix("log")
        .max_log_files(14)
        .build(paths.log_dir())
        .ok();
    let (file_layer, guard) = match appender {
        Some(a) => {
            let (w, g) = tracing_appender::non_blocking(a);
            (Some(fmt::layer().with_ansi(false).with_writer(w)), Some(g))
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .with(file_layer)
        .try_init();
    guard
}

/// A quit asked by the system (SIGTERM at logout or shutdown, SIGHUP, Ctrl-C in a terminal)
/// takes the same way out as the tray's 退出 (the cache closed first, see `run`). Dying by
/// the signal's default action would leave SQLCipher's worker threads running into the exit
/// handlers (the CLI's double free, issue 16). Installed first thing in [`run`], so a signal
/// that arrives while the window is still being built waits for the app instead of killing it.
struct QuitSignals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl QuitSignals {
    fn install() -> Option<QuitSignals> {
        use tokio::signal::unix::{signal, SignalKind};
        let installed = tauri::async_runtime::block_on(async {
            Ok::<_, std::io::Error>(QuitSignals {
                term: signal(SignalKind::terminate())?,
                hup: signal(SignalKind::hangup())?,
                int: signal(SignalKind::interrupt())?,
            })
        });
        installed
            .map_err(|e| tracing::warn!(error = %e, "cannot listen for quit signals"))
            .ok()
    }

    async fn quit_app_on_signal(mut self, app: AppHandle) {
        let name = tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
            _ = self.int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "quit requested by the system");
        app.exit(0);
    }
}

pub fn run() {
    let paths = match settings::Paths::resolve() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("市民网窗口端无法创建数据目录: {e}");
            std::process::exit(1);
        }
    };
    let _log_guard = init_logging(&paths);
    let quit_signals = QuitSignals::install();
    tracing::info!(version = crate::VERSION, "desk starting");
    let state: Shared = Arc::new(AppState::new(paths));
    let start_minimized = std::env::args().any(|a| a == MINIMIZED_ARG);

    let result = tauri::Builder::default()
        // First: a second launch only brings the running desk forward.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            show_main(app)
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![MINIMIZED_ARG]),
        ))
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            commands::get_settings,
            commands::save_endpoints,
            commands::set_autostart,
            commands::try_resume,
            commands::login,
            commands::check_password,
            commands::change_password,
            commands::logout,
            commands::get_status,
            commands::sync_now,
            commands::queue,
            commands::item,
            commands::reservation_slots,
            commands::reveal_personal,
            commands::act,
            commands::rejections,
            commands::dismiss_rejection,
            commands::units,
            commands::set_away,
            commands::counter::counter_state,
            commands::counter::counter_call_next,
            commands::counter::counter_call_number,
            commands::counter::counter_walk_in,
            commands::counter::counter_start,
            commands::counter::counter_suspend,
            commands::counter::counter_resume,
            commands::counter::counter_transfer,
            commands::counter::counter_no_show,
            commands::counter::counter_done,
            commands::counter::counter_recall,
            commands::counter::set_window_no,
            commands::counter::hall_board,
            commands::stats::stats_report,
            commands::cases::supervision_cases,
            commands::cases::case_answer,
            commands::cases::case_step,
            commands::counter::open_hall_screen,
            commands::matters,
            commands::register_case,
            commands::capture_attachment,
            commands::attachment,
            commands::check_update,
            commands::install_update,
        ])
        .setup(move |app| {
            app.state::<Shared>().toasts.start(app.handle().clone());
            if let Some(signals) = quit_signals {
                tauri::async_runtime::spawn(signals.quit_app_on_signal(app.handle().clone()));
            }
            if let Err(e) = tray::build(app.handle()) {
                // No tray host (some desktops): the window and notifications still work.
                tracing::warn!(error = %e, "tray icon unavailable");
            }
            if start_minimized {
                if let Some(w) = app.get_webview_window("main") {
                    let _ = w.hide();
                }
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            // Close-to-tray: the desk keeps syncing and alerting; "退出" in the tray quits.
            // The hall screen just closes.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                if window.label() == "main" && window.app_handle().tray_by_id("main").is_some() {
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .build(tauri::generate_context!());
    match result {
        Ok(app) => app.run(|app, event| match event {
            // The cache is closed before the process ends, while the event loop still runs:
            // the session's tasks update the tray and windows through the main thread, so
            // blocking it to wait for them could wait forever (a quit hung that way when it
            // came as a notification was being raised). The exit is held back, the close
            // runs on the async runtime, and then the app exits for real.
            tauri::RunEvent::ExitRequested { api, code, .. } if !CACHE_CLOSED.load(Ordering::SeqCst) => {
                api.prevent_exit();
                if !CLOSING.swap(true, Ordering::SeqCst) {
                    let (app, state) = (app.clone(), app.state::<Shared>().inner().clone());
                    tauri::async_runtime::spawn(async move {
                        state.close_desk().await;
                        CACHE_CLOSED.store(true, Ordering::SeqCst);
                        app.exit(code.unwrap_or(0));
                    });
                }
            }
            // Not reached through ExitRequested (should not happen): close, bounded.
            tauri::RunEvent::Exit if !CACHE_CLOSED.load(Ordering::SeqCst) => {
                let state = app.state::<Shared>().inner().clone();
                let closing = async { tokio::time::timeout(EXIT_CLOSE_LIMIT, state.close_desk()).await };
                if tauri::async_runtime::block_on(closing).is_err() {
                    tracing::warn!("the cache did not close in time at exit");
                }
            }
            _ => {}
        }),
        Err(e) => {
            tracing::error!(error = %e, "desk failed to start");
            std::process::exit(1);
        }
    }
}
