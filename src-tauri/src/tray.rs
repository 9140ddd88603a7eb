//! The tray icon (托盘): open, "I'm away" (暂离), quit; the tooltip carries the number of
//! reservations waiting and of unsynced changes, and the icon turns red while reservations wait.

use crate::state::Shared;
use std::sync::atomic::Ordering;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

const TRAY_ID: &str = "main";
const NORMAL: Image<'static> = tauri::include_image!("../icons/tray.png");
const ATTENTION: Image<'static> = tauri::include_image!("../icons/tray-attention.png");

pub fn build(app: &AppHandle) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "打开窗口", true, None::<&str>)?;
    let away = CheckMenuItem::with_id(app, "away", "暂离（预约转B岗）", true, false, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "退出", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &away, &PredefinedMenuItem::separator(app)?, &quit])?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(NORMAL)
        .tooltip("市民网窗口端")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(move |app, event| match event.id.as_ref() {
            "open" => crate::show_main(app),
            "away" => {
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    let state = app.state::<Shared>().inner().clone();
                    let want = !state.away.load(Ordering::Relaxed);
                    if let Err(e) = crate::commands::apply_away(&app, &state, want).await {
                        tracing::warn!(code = %e.code, "away toggle from the tray failed");
                    }
                });
            }
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                crate::show_main(tray.app_handle());
            }
        })
        .build(app)?;
    app.manage(TrayMenu { away });
    Ok(())
}

/// The menu items whose state follows the desk.
struct TrayMenu {
    away: CheckMenuItem<Wry>,
}

/// Brings the tray in line with the state: icon, tooltip, the away check mark.
pub async fn refresh(app: &AppHandle, state: &Shared) {
    let status = state.status_view().await;
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let mut tip = String::from("市民网窗口端");
    if status.attention > 0 {
        tip.push_str(&format!(" · 待处理预约 {}", status.attention));
    }
    if status.pending > 0 {
        tip.push_str(&format!(" · 待同步 {}", status.pending));
    }
    tip.push_str(if status.online { " · 在线" } else { " · 离线" });
    let _ = tray.set_tooltip(Some(&tip));
    let _ = tray.set_icon(Some(if status.attention > 0 { ATTENTION } else { NORMAL }));
    if let Some(menu) = app.try_state::<TrayMenu>() {
        let _ = menu.away.set_checked(status.away);
    }
}
