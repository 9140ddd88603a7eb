//! Desktop notifications (toasts) with a life cycle: shown, updated in place, and withdrawn
//! (`CloseNotification` on the bus) when what they announce is gone — a reservation handled
//! here or on a colleague's desk, the session ended. A toast left on the screen would tell
//! the next user of the computer about someone else's work and stop meaning anything to this
//! one.
//!
//! One task owns every shown notification, keyed by [`ToastKey`]: the open reservations are one
//! grouped toast that is replaced in place (the same notification id), never a stack. Each
//! shown toast has a waiter for the clerk's click ("打开办件"), which opens the item the toast
//! points at *now* (the grouped toast's item changes as reservations come and go).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tauri::AppHandle;
use tokio::sync::mpsc;
use uuid::Uuid;

/// What a toast is about; one toast per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToastKey {
    /// The open reservations waiting for this user, grouped.
    Reservations,
    /// News of one of a township agent's delegated cases.
    Case(Uuid),
}

/// A toast's content (no personal data: item numbers and matters only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub summary: String,
    pub body: String,
    /// The item its "打开办件" opens.
    pub opens: Uuid,
}

#[derive(Debug)]
enum Command {
    Show(ToastKey, Toast),
    Withdraw(ToastKey),
    /// Answered once every toast is closed.
    WithdrawAll(tokio::sync::oneshot::Sender<()>),
    /// The notification `id` of `key` closed or was acted on (its waiter ended).
    Gone(ToastKey, u32),
}

/// The handle of the notifications' owner task; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Toasts {
    tx: Arc<Mutex<Option<mpsc::UnboundedSender<Command>>>>,
}

impl Toasts {
    /// Starts the owner task (once, at app start).
    pub fn start(&self, app: AppHandle) {
        let (tx, rx) = mpsc::unbounded_channel();
        tauri::async_runtime::spawn(run(app, rx, tx.clone()));
        *crate::state::lock(&self.tx) = Some(tx);
    }

    fn send(&self, c: Command) {
        if let Some(tx) = crate::state::lock(&self.tx).as_ref() {
            let _ = tx.send(c);
        }
    }

    /// Shows the toast of `key`, replacing its earlier content in place.
    pub fn show(&self, key: ToastKey, toast: Toast) {
        self.send(Command::Show(key, toast));
    }

    /// Closes the toast of `key`, if shown.
    pub fn withdraw(&self, key: ToastKey) {
        self.send(Command::Withdraw(key));
    }

    /// Closes every toast (the session ended, the desk quits) and waits until they are
    /// closed, a little while at most: a quit must not hang on an unresponsive bus.
    pub async fn withdraw_all(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Command::WithdrawAll(tx));
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), rx).await;
    }
}

/// A toast on the screen.
#[cfg(all(unix, not(target_os = "macos")))]
struct Shown {
    handle: Arc<notify_rust::NotificationHandle>,
    opens: Arc<Mutex<Uuid>>,
}

#[cfg(all(unix, not(target_os = "macos")))]
async fn run(app: AppHandle, mut rx: mpsc::UnboundedReceiver<Command>, tx: mpsc::UnboundedSender<Command>) {
    let mut shown: HashMap<ToastKey, Shown> = HashMap::new();
    while let Some(command) = rx.recv().await {
        match command {
            Command::Show(key, toast) => {
                let replaces = shown.get(&key).map(|s| s.handle.id());
                let handle = match notification(&toast, replaces).show_async().await {
                    Ok(h) => h,
                    Err(e) => {
                        tracing::warn!(error = %e, "desktop notification not shown; banner and tray still alert");
                        continue;
                    }
                };
                match shown.get(&key) {
                    // Replaced in place: the waiter of that id stays; it opens the new item.
                    Some(s) if s.handle.id() == handle.id() => *crate::state::lock(&s.opens) = toast.opens,
                    _ => {
                        if let Some(old) = shown.remove(&key) {
                            old.handle.close_async().await;
                        }
                        let s = Shown {
                            handle: Arc::new(handle),
                            opens: Arc::new(Mutex::new(toast.opens)),
                        };
                        tauri::async_runtime::spawn(wait_for_click(
                            app.clone(),
                            key,
                            s.handle.clone(),
                            s.opens.clone(),
                            tx.clone(),
                        ));
                        shown.insert(key, s);
                    }
                }
            }
            Command::Withdraw(key) => {
                if let Some(s) = shown.remove(&key) {
                    s.handle.close_async().await;
                }
            }
            Command::WithdrawAll(done) => {
                for (_, s) in shown.drain() {
                    s.handle.close_async().await;
                }
                let _ = done.send(());
            }
            Command::Gone(key, id) => {
                if shown.get(&key).is_some_and(|s| s.handle.id() == id) {
                    shown.remove(&key);
                }
            }
        }
    }
}

/// Critical, never expiring, with an action that opens the item.
#[cfg(all(unix, not(target_os = "macos")))]
fn notification(toast: &Toast, replaces: Option<u32>) -> notify_rust::Notification {
    let mut n = notify_rust::Notification::new();
    n.appname("市民网窗口端")
        .summary(&toast.summary)
        .body(&toast.body)
        .icon("dialog-warning")
        .timeout(notify_rust::Timeout::Never)
        .urgency(notify_rust::Urgency::Critical)
        .action("default", "查看")
        .action("open", "打开办件")
        .hint(notify_rust::Hint::Category("im.received".to_owned()))
        .hint(notify_rust::Hint::Resident(true));
    if let Some(id) = replaces {
        n.id(id);
    }
    n
}

/// Until the toast is closed: each click opens its current item (a resident notification
/// stays on the screen after a click, so it is still this task's to withdraw).
#[cfg(all(unix, not(target_os = "macos")))]
async fn wait_for_click(
    app: AppHandle,
    key: ToastKey,
    handle: Arc<notify_rust::NotificationHandle>,
    opens: Arc<Mutex<Uuid>>,
    tx: mpsc::UnboundedSender<Command>,
) {
    loop {
        let mut response = None;
        handle.wait_for_action_async(|r| response = Some(r.clone())).await;
        match response {
            Some(notify_rust::NotificationResponse::Default) => {}
            Some(notify_rust::NotificationResponse::Action(a)) if a == "open" => {}
            Some(
                notify_rust::NotificationResponse::Action(_) | notify_rust::NotificationResponse::Reply(_),
            ) => continue,
            // Closed (by the clerk, the server or us), or the bus is gone.
            _ => break,
        }
        let item = *crate::state::lock(&opens);
        crate::focus_item(&app, item);
    }
    let _ = tx.send(Command::Gone(key, handle.id()));
}

/// Elsewhere (Windows, macOS builds): shown once, not withdrawn; the banner carries the state.
#[cfg(not(all(unix, not(target_os = "macos"))))]
async fn run(_app: AppHandle, mut rx: mpsc::UnboundedReceiver<Command>, _tx: mpsc::UnboundedSender<Command>) {
    while let Some(command) = rx.recv().await {
        match command {
            Command::Show(_, toast) => {
                let _ = notify_rust::Notification::new()
                    .appname("市民网窗口端")
                    .summary(&toast.summary)
                    .body(&toast.body)
                    .show();
            }
            Command::WithdrawAll(done) => {
                let _ = done.send(());
            }
            Command::Withdraw(_) | Command::Gone(..) => {}
        }
    }
}
