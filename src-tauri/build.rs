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
    "reservation_slots",
    "reveal_personal",
    "act",
    "rejections",
    "dismiss_rejection",
    "units",
    "set_away",
    "counter_state",
    "counter_call_next",
    "counter_call_number",
    "counter_walk_in",
    "counter_start",
    "counter_suspend",
    "counter_resume",
    "counter_transfer",
    "counter_no_show",
    "counter_done",
    "counter_recall",
    "set_window_no",
    "hall_board",
    "open_hall_screen",
    "stats_report",
    "supervision_cases",
    "case_answer",
    "case_step",
    "matters",
    "register_case",
    "capture_attachment",
    "attachment",
    "check_update",
    "install_update",
];

fn main() {
    // The version the app says it is and compares updates with: the package's, or another one
    // for a test build of the same tree at a higher version (scripts/desk-deb-at-version.sh).
    println!("cargo:rerun-if-env-changed=SHIMIN_DESK_VERSION");
    let version = std::env::var("SHIMIN_DESK_VERSION")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| std::env::var("CARGO_PKG_VERSION").expect("cargo sets it"));
    println!("cargo:rustc-env=SHIMIN_DESK_VERSION={version}");
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script");
}
