//! Build script: embeds the Tauri context and declares the app commands, so that the window
//! may call only those granted in `capabilities/` (least privilege).

/// Every command the UI may call (see ui/src/api/contract.ts).
const COMMANDS: &[&str] = &[
    "get_settings",
    "save_endpoints",
    "set_autostart",
    "try_resume",
    "login",
    "check_password",
    "change_password",
    "logout",
    "get_status",
    "sync_now",
    "queue",
    "item",
    "reveal_personal",
    "act",
    "rejections",
    "dismiss_rejection",
    "units",
    "set_away",
    "counter_state",
    "counter_call_next",
    "counter_walk_in",
    "counter_no_show",
    "counter_done",
    "matters",
    "register_case",
    "capture_attachment",
    "attachment",
    "check_update",
    "install_update",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script");
}
