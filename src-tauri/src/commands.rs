//! The commands of the UI contract (ui/src/api/contract.ts). Each takes at most one `req`.

pub mod cases;
pub mod counter;
pub mod stats;

use crate::error::{password_problems, CmdResult, DeskError};
use crate::settings::{validate_endpoints, EndpointSetting};
use crate::state::{lock, Shared};
use crate::views::{ItemDetail, MatterInfo, QueueRow, SessionView, StatusView};
use serde::{Deserialize, Serialize};
use shimin_client::{Desk, NewCase, Op, QueueQuery, QueueView, RejectionNotice};
use shimin_protocol::AttachmentRef;
use std::sync::atomic::Ordering;
use tauri::{AppHandle, State};
use tauri_plugin_autostart::ManagerExt;
use uuid::Uuid;

#[derive(Debug, Serialize)]
pub struct SettingsView {
    pub endpoints: Vec<EndpointSetting>,
    pub remembered_username: Option<String>,
    pub autostart: bool,
    pub app_version: &'static str,
    /// The endpoints are set by the administrator's machine-wide settings (not editable).
    pub endpoints_managed: bool,
    /// Why the machine-wide settings could not be used.
    pub machine_error: Option<String>,
}

fn settings_view(state: &Shared) -> SettingsView {
    let s = lock(&state.settings);
    SettingsView {
        endpoints: s.endpoints.clone(),
        remembered_username: s.remembered_username.clone(),
        autostart: s.autostart,
        app_version: crate::VERSION,
        endpoints_managed: s.endpoints_managed(),
        machine_error: s.machine_error.clone(),
    }
}

#[tauri::command]
pub fn get_settings(state: State<'_, Shared>) -> SettingsView {
    settings_view(&state)
}

#[derive(Debug, Deserialize)]
pub struct EndpointsReq {
    endpoints: Vec<EndpointSetting>,
}

#[tauri::command]
pub async fn save_endpoints(state: State<'_, Shared>, req: EndpointsReq) -> CmdResult<SettingsView> {
    if lock(&state.settings).endpoints_managed() {
        return Err(DeskError::new(
            "managed_by_admin",
            "服务器地址由管理员统一配置（/etc/shimin-desk/settings.toml），不能在此修改",
        ));
    }
    let endpoints = validate_endpoints(req.endpoints)?;
    if state.live.lock().await.is_some() {
        return Err(DeskError::new("logged_in", "请先退出登录再修改服务器地址"));
    }
    lock(&state.settings).endpoints = endpoints;
    state.save_settings()?;
    // The desk core holds the endpoints: reopen it with the new list on next use.
    state.close_desk().await;
    Ok(settings_view(&state))
}

#[derive(Debug, Deserialize)]
pub struct AutostartReq {
    enabled: bool,
}

#[tauri::command]
pub fn set_autostart(app: AppHandle, state: State<'_, Shared>, req: AutostartReq) -> CmdResult<SettingsView> {
    let launcher = app.autolaunch();
    let result = if req.enabled {
        launcher.enable()
    } else {
        launcher.disable()
    };
    result.map_err(|e| DeskError::new("autostart", format!("开机自启动设置失败：{e}")))?;
    lock(&state.settings).autostart = req.enabled;
    state.save_settings()?;
    Ok(settings_view(&state))
}

#[tauri::command]
pub async fn try_resume(app: AppHandle, state: State<'_, Shared>) -> CmdResult<Option<SessionView>> {
    let state = state.inner().clone();
    if lock(&state.settings).remembered_username.is_none() {
        return Ok(None);
    }
    let Some(saved) = state.secrets().remembered()? else {
        return Ok(None);
    };
    let desk = state.desk().await?;
    desk.resume(shimin_client::SessionToken::new(saved.token), saved.user.clone())
        .await?;
    state.remembered.store(true, Ordering::Relaxed);
    crate::start_live(&app, &state, &desk).await;
    tracing::info!(user = %saved.user.username, "session resumed from the keyring");
    state.session_view(&desk, &saved.user, false).await.map(Some)
}

#[derive(Deserialize)]
pub struct LoginReq {
    username: String,
    password: String,
    remember: bool,
}

impl std::fmt::Debug for LoginReq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginReq")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[tauri::command]
pub async fn login(app: AppHandle, state: State<'_, Shared>, req: LoginReq) -> CmdResult<SessionView> {
    let state = state.inner().clone();
    let username = req.username.trim();
    if username.is_empty() || req.password.is_empty() {
        return Err(DeskError::new("invalid_field", "请输入用户名和密码"));
    }
    state.stop_live().await;
    let desk = state.desk().await?;
    let outcome = desk.login(username, &req.password).await?;
    remember_or_forget(&state, &desk, req.remember)?;
    if !outcome.must_change_password {
        crate::start_live(&app, &state, &desk).await;
    }
    tracing::info!(user = %outcome.user.username, "logged in");
    state
        .session_view(&desk, &outcome.user, outcome.must_change_password)
        .await
}

/// "Remember me": the token (never the password) into the keyring; otherwise nothing is kept.
fn remember_or_forget(state: &Shared, desk: &Desk, remember: bool) -> CmdResult<()> {
    let secrets = state.secrets();
    match (remember, desk.session(), desk.user()) {
        (true, Some(token), Some(user)) => {
            secrets.remember(&token, &user)?;
            lock(&state.settings).remembered_username = Some(user.username);
        }
        _ => {
            secrets.forget_session()?;
            lock(&state.settings).remembered_username = None;
        }
    }
    state.remembered.store(remember, Ordering::Relaxed);
    state.save_settings()
}

#[derive(Deserialize)]
pub struct PasswordReq {
    password: String,
}

impl std::fmt::Debug for PasswordReq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordReq(<redacted>)")
    }
}

#[derive(Debug, Serialize)]
pub struct PasswordCheck {
    ok: bool,
    problems: Vec<String>,
}

#[tauri::command]
pub fn check_password(req: PasswordReq) -> PasswordCheck {
    match shimin_domain::password::check_password(&req.password) {
        Ok(()) => PasswordCheck {
            ok: true,
            problems: Vec::new(),
        },
        Err(ps) => PasswordCheck {
            ok: false,
            problems: password_problems(&ps.iter().map(|p| p.code()).collect::<Vec<_>>()),
        },
    }
}

#[derive(Deserialize)]
pub struct ChangePasswordReq {
    old_password: String,
    new_password: String,
}

impl std::fmt::Debug for ChangePasswordReq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangePasswordReq(<redacted>)")
    }
}

#[tauri::command]
pub async fn change_password(
    app: AppHandle,
    state: State<'_, Shared>,
    req: ChangePasswordReq,
) -> CmdResult<SessionView> {
    let state = state.inner().clone();
    let desk = state.desk().await?;
    desk.change_password(&req.old_password, &req.new_password).await?;
    let user = desk.user().ok_or_else(DeskError::not_logged_in)?;
    // The token may have changed with the password.
    let remember = state.remembered.load(Ordering::Relaxed);
    remember_or_forget(&state, &desk, remember)?;
    if state.live.lock().await.is_none() {
        crate::start_live(&app, &state, &desk).await;
    }
    state.session_view(&desk, &user, false).await
}

#[tauri::command]
pub async fn logout(app: AppHandle, state: State<'_, Shared>) -> CmdResult<()> {
    let state = state.inner().clone();
    state.stop_live().await;
    if let Some(desk) = state.desk.lock().await.clone() {
        desk.logout().await?;
    }
    state.secrets().forget_session()?;
    state.remembered.store(false, Ordering::Relaxed);
    lock(&state.settings).remembered_username = None;
    state.save_settings()?;
    crate::tray::refresh(&app, &state).await;
    Ok(())
}

#[tauri::command]
pub async fn get_status(state: State<'_, Shared>) -> CmdResult<StatusView> {
    Ok(state.status_view().await)
}

pub(crate) async fn logged_in(state: &Shared) -> CmdResult<Desk> {
    let desk = state
        .desk
        .lock()
        .await
        .clone()
        .ok_or_else(DeskError::not_logged_in)?;
    if desk.user().is_none() {
        return Err(DeskError::not_logged_in());
    }
    Ok(desk)
}

#[tauri::command]
pub async fn sync_now(state: State<'_, Shared>) -> CmdResult<()> {
    let desk = logged_in(&state).await?;
    desk.sync_now().await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct QueueReq {
    view: String,
    #[serde(default)]
    search: Option<String>,
    #[serde(default)]
    include_closed: bool,
}

/// What "due soon" (即将到期) means: within two working hours' worth of wall time.
const DUE_SOON: std::time::Duration = std::time::Duration::from_secs(2 * 3600);

#[tauri::command]
pub async fn queue(state: State<'_, Shared>, req: QueueReq) -> CmdResult<Vec<QueueRow>> {
    let desk = logged_in(&state).await?;
    let view = match req.view.as_str() {
        "mine" => QueueView::Mine,
        "unit" => QueueView::Unit,
        "due_soon" => QueueView::DueSoon(DUE_SOON),
        "overdue" => QueueView::Overdue,
        "all" => QueueView::All,
        kind if shimin_domain::item::ItemKind::from_code(kind).is_some() => QueueView::Kind(kind.to_owned()),
        other => return Err(DeskError::new("invalid_field", format!("未知的队列：{other}"))),
    };
    let mut q = QueueQuery::new(view);
    q.search = req.search.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    q.include_closed = req.include_closed;
    let items = desk.queue(q).await?;
    let lookup = state.lookup(&desk).await?;
    Ok(items.iter().map(|v| lookup.row(v)).collect())
}

#[derive(Debug, Deserialize)]
pub struct ItemReq {
    id: Uuid,
}

async fn detail(state: &Shared, desk: &Desk, id: Uuid) -> CmdResult<ItemDetail> {
    let v = desk
        .item(id)
        .await?
        .ok_or_else(|| DeskError::new("not_found", "办件不存在或已不在本单位"))?;
    Ok(state.lookup(desk).await?.detail(&v, desk.user().as_ref()))
}

#[tauri::command]
pub async fn item(state: State<'_, Shared>, req: ItemReq) -> CmdResult<ItemDetail> {
    let desk = logged_in(&state).await?;
    detail(&state, &desk, req.id).await
}

/// The slots the clerk may grant for reservation `id` (the accept dialog picks, never types).
#[tauri::command]
pub async fn reservation_slots(
    state: State<'_, Shared>,
    req: ItemReq,
) -> CmdResult<Vec<crate::views::SlotDay>> {
    let desk = logged_in(&state).await?;
    let view = desk
        .item(req.id)
        .await?
        .ok_or_else(|| DeskError::new("not_found", "办件不存在或已不在本单位"))?;
    let clocks = desk.clocks().await?;
    let now = shimin_domain::calendar::to_local(desk.server_now());
    Ok(crate::views::slot_days(
        clocks.calendar(),
        view.record.details.requested_slot,
        now,
    ))
}

#[derive(Debug, Deserialize)]
pub struct RevealReq {
    id: Uuid,
    #[serde(with = "shimin_protocol::coded")]
    field: shimin_domain::identity::PersonalField,
}

/// Shows a masked number of an item in full (显示完整号码); the desk records the act for the
/// server's audit trail.
#[tauri::command]
pub async fn reveal_personal(state: State<'_, Shared>, req: RevealReq) -> CmdResult<String> {
    let desk = logged_in(&state).await?;
    Ok(desk.reveal(req.id, req.field).await?)
}

#[derive(Debug, Deserialize)]
pub struct ActReq {
    id: Uuid,
    op: Op,
}

#[tauri::command]
pub async fn act(app: AppHandle, state: State<'_, Shared>, req: ActReq) -> CmdResult<ItemDetail> {
    let state = state.inner().clone();
    let desk = logged_in(&state).await?;
    desk.act(req.id, req.op).await?;
    crate::emit_status(&app, &state).await;
    detail(&state, &desk, req.id).await
}

#[tauri::command]
pub async fn rejections(state: State<'_, Shared>) -> CmdResult<Vec<RejectionNotice>> {
    Ok(logged_in(&state).await?.rejections().await?)
}

#[derive(Debug, Deserialize)]
pub struct DismissReq {
    mutation_id: Uuid,
}

#[tauri::command]
pub async fn dismiss_rejection(state: State<'_, Shared>, req: DismissReq) -> CmdResult<()> {
    Ok(logged_in(&state)
        .await?
        .dismiss_rejection(req.mutation_id)
        .await?)
}

#[derive(Debug, Serialize)]
pub struct UnitInfo {
    id: i64,
    name: String,
}

#[tauri::command]
pub async fn units(state: State<'_, Shared>) -> CmdResult<Vec<UnitInfo>> {
    let desk = logged_in(&state).await?;
    Ok(desk
        .units()
        .await?
        .into_iter()
        .map(|u| UnitInfo {
            id: u.id,
            name: u.name,
        })
        .collect())
}

#[derive(Debug, Deserialize)]
pub struct AwayReq {
    away: bool,
}

/// "I'm away" (暂离): the server records it, every desk of the unit then routes new
/// reservations of this clerk's matters to the B clerk. Needs the server (it is the others'
/// desks that must learn it).
pub async fn apply_away(app: &AppHandle, state: &Shared, away: bool) -> CmdResult<StatusView> {
    let desk = logged_in(state).await?;
    desk.set_away(away).await?;
    state.away.store(away, Ordering::Relaxed);
    tracing::info!(away, "presence changed");
    crate::tray::refresh(app, state).await;
    crate::emit_status(app, state).await;
    Ok(state.status_view().await)
}

#[tauri::command]
pub async fn set_away(app: AppHandle, state: State<'_, Shared>, req: AwayReq) -> CmdResult<StatusView> {
    apply_away(&app, state.inner(), req.away).await
}

// ---- delegated cases (代办): agents' registration and files, both sides' attachments ----

#[tauri::command]
pub async fn matters(state: State<'_, Shared>) -> CmdResult<Vec<MatterInfo>> {
    let desk = logged_in(&state).await?;
    Ok(desk.matters().await?.iter().map(MatterInfo::from).collect())
}

#[tauri::command]
pub async fn register_case(app: AppHandle, state: State<'_, Shared>, req: NewCase) -> CmdResult<ItemDetail> {
    let state = state.inner().clone();
    let desk = logged_in(&state).await?;
    let case = desk.register_case(req).await?;
    tracing::info!(item = %case.record.number, "delegated case registered");
    crate::emit_status(&app, &state).await;
    detail(&state, &desk, case.record.id).await
}

/// A header of a raw request, URI-decoded (the page encodes names with `encodeURIComponent`).
fn header(request: &tauri::ipc::Request<'_>, name: &str) -> CmdResult<String> {
    let raw = request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| DeskError::new("invalid_field", format!("缺少 {name}")))?;
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| DeskError::new("invalid_field", format!("{name} 不是有效的文字")))
}

/// `capture_attachment`: the file's bytes as the raw body; headers `x-item-id`, `x-material`,
/// `x-file-name`, `x-purpose` (`material`: add it to the case; `proof`: store it for a
/// delivery). See `CAPTURE_ATTACHMENT` in ui/src/api/contract.ts.
#[tauri::command]
pub async fn capture_attachment(
    app: AppHandle,
    state: State<'_, Shared>,
    request: tauri::ipc::Request<'_>,
) -> CmdResult<AttachmentRef> {
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(DeskError::new("invalid_field", "文件内容须以二进制发送"));
    };
    let bytes = bytes.clone();
    let item_id: Uuid = header(&request, "x-item-id")?
        .parse()
        .map_err(|_| DeskError::new("invalid_field", "x-item-id 不是办件编号"))?;
    let material = header(&request, "x-material")?;
    let file_name = header(&request, "x-file-name")?;
    let purpose = header(&request, "x-purpose").unwrap_or_else(|_| "material".to_owned());
    let state = state.inner().clone();
    let desk = logged_in(&state).await?;
    let attachment = if purpose == "proof" {
        desk.store_file(&file_name, &material, bytes).await?
    } else {
        desk.attach_file(item_id, &material, &file_name, bytes).await?.0
    };
    // Names are typed by people: the log gets the address and size only.
    tracing::info!(hash = %attachment.hash, size = attachment.size, "attachment captured");
    crate::emit_status(&app, &state).await;
    Ok(attachment)
}

#[derive(Debug, Deserialize)]
pub struct AttachmentReq {
    hash: String,
}

/// `attachment`: a file's bytes (from the cache, else the server), as a raw answer.
#[tauri::command]
pub async fn attachment(state: State<'_, Shared>, req: AttachmentReq) -> CmdResult<tauri::ipc::Response> {
    let desk = logged_in(&state).await?;
    let (_, bytes) = desk.attachment(&req.hash).await.map_err(|e| match e {
        shimin_client::Error::AttachmentNotFound => {
            DeskError::new("not_found", "附件不在本机，且当前无法从服务器取得")
        }
        e => e.into(),
    })?;
    Ok(tauri::ipc::Response::new(bytes))
}

/// A newer desk release, verified against the county's update key.
#[derive(Debug, Serialize)]
pub struct UpdateOfferView {
    pub version: String,
    pub notes: String,
    pub size: u64,
}

/// Looks for a newer release (at start and daily, from the window). `None` without an update
/// key in the machine-wide settings, or when this desk is the newest.
#[tauri::command]
pub async fn check_update(state: State<'_, Shared>) -> CmdResult<Option<UpdateOfferView>> {
    let Some(key) = update_key(&state) else {
        return Ok(None);
    };
    let desk = state.desk().await?;
    let offer = desk.check_update(&key, crate::VERSION).await?;
    Ok(offer.map(|m| UpdateOfferView {
        version: m.version,
        notes: m.notes,
        size: m.size,
    }))
}

/// With the clerk's consent: downloads and verifies the newest release again, installs it with
/// the machine's install command and restarts the desk. A refused or failed update leaves the
/// running version as it is.
#[tauri::command]
pub async fn install_update(app: AppHandle, state: State<'_, Shared>) -> CmdResult<()> {
    let Some(key) = update_key(&state) else {
        return Err(DeskError::new("update_not_configured", "本机未配置更新公钥"));
    };
    let desk = state.desk().await?;
    let manifest = desk
        .check_update(&key, crate::VERSION)
        .await?
        .ok_or_else(|| DeskError::new("update_none", "当前已是最新版本"))?;
    let file = desk
        .download_update(&manifest, &state.paths.data_dir.join("updates"))
        .await?;
    let mut argv = lock(&state.settings)
        .machine
        .as_ref()
        .and_then(|m| m.update_install_command.clone())
        .unwrap_or_else(|| ["pkexec", "apt-get", "install", "-y"].map(String::from).to_vec());
    argv.push(file.display().to_string());
    tracing::info!(version = %manifest.version, "installing a desk update");
    let status = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .status()
        .await
        .map_err(|e| DeskError::new("update_install_failed", format!("无法启动安装程序：{e}")))?;
    if !status.success() {
        return Err(DeskError::new(
            "update_install_failed",
            format!("更新未安装（安装程序退出码 {:?}），当前版本不变", status.code()),
        ));
    }
    // Installed: the downloaded package is not needed again (the next update brings its own).
    let _ = std::fs::remove_file(&file);
    // The cache closed before the process is replaced (as on every way out).
    state.close_desk().await;
    app.restart();
}

fn update_key(state: &Shared) -> Option<String> {
    lock(&state.settings)
        .machine
        .as_ref()
        .and_then(|m| m.update_public_key.clone())
        .filter(|k| !k.trim().is_empty())
}
