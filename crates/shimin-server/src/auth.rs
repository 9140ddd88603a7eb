//! Authentication (R-PWD, R-AUD): login with throttling, bearer sessions with idle expiry,
//! forced and voluntary password change, logout.
//!
//! Tokens are 32 random bytes (base64url) given to the client once; the server stores only
//! their SHA-256. Password hashing (argon2id) runs in the bounded pool of
//! [`crate::passwords::Hasher`].
//!
//! Guessing is slowed, not answered with a lockout (issue 16, finding 2): every attempt counts
//! against a throttle key (`crate::throttle::key_for`) whose failures beyond a few make it wait,
//! doubling (`shimin_domain::login::LoginPolicy`). A stranger cannot lock a colleague's own desk
//! out (that desk counts on its own key), and unknown and existing user names get the same
//! answers with the same work: the same reads, a real argon2 check (against a dummy hash for
//! unknown names), the same throttle bookkeeping. Attempts per client address are bounded too
//! (`crate::throttle::AddressLimiter`), and the old-password check of a password change counts
//! like a login.

use axum::extract::{ConnectInfo, FromRequestParts, Path as UrlPath, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use shimin_domain::login::MAX_USERNAME_CHARS;
use shimin_domain::password::check_password;
use shimin_domain::role::{Actor, Role};
use shimin_protocol::{ChangePasswordRequest, LoginRequest, LoginResponse, SetPresence, UserInfo};
use std::net::SocketAddr;

use crate::audit::Entry;
use crate::http::Json;
use crate::passwords::Lane;
use crate::store::{LoginUser, NewSession, Reads};
use crate::throttle::key_for;
use crate::{Error, HashParams, Result, SharedState};

/// Hashes a password (argon2id, PHC string) without the pool: admin commands, tests. CPU-heavy.
pub fn hash_password(params: HashParams, password: &str) -> Result<String> {
    crate::passwords::hash_once(params, password)
}

/// [`hash_password`] on the blocking pool.
pub async fn hash_password_blocking(params: HashParams, password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(params, &password))
        .await
        .map_err(Error::internal)?
}

pub fn hash_token(token: &str) -> String {
    crate::blobs::sha256_hex(token.as_bytes())
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn user_info(u: &LoginUser) -> UserInfo {
    UserInfo {
        id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: u.role,
        unit_id: u.unit_id,
    }
}

/// An authenticated request, whatever the account's state (also one that must change its
/// password). Only [`change_password`] and [`logout`] take this; everything else takes
/// [`AuthUser`].
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit_id: Option<i64>,
    pub must_change_password: bool,
    pub client_id: String,
    token_hash: String,
}

impl SessionUser {
    /// An audit record of an action this user took through this session's client.
    pub fn audit_entry<'a>(
        &'a self,
        action: &'a str,
        target: Option<&'a str>,
        outcome: &'a str,
    ) -> Entry<'a> {
        Entry {
            user_id: Some(self.id),
            username: Some(&self.username),
            action,
            target,
            client_id: Some(&self.client_id),
            outcome,
        }
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.id,
            role: self.role,
            unit_id: self.unit_id,
        }
    }
}

/// An authenticated user allowed to work (password changed if it had to be).
#[derive(Debug, Clone)]
pub struct AuthUser(pub SessionUser);

impl std::ops::Deref for AuthUser {
    type Target = SessionUser;
    fn deref(&self) -> &SessionUser {
        &self.0
    }
}

impl FromRequestParts<SharedState> for SessionUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(Error::Unauthenticated)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(Error::Unauthenticated)?
            .trim();
        if token.is_empty() {
            return Err(Error::Unauthenticated);
        }
        let token_hash = hash_token(token);
        let row = state.store.reader().await?.session(&token_hash).await?;
        let row = row.ok_or(Error::Unauthenticated)?;
        if row.revoked {
            return Err(Error::Unauthenticated);
        }
        if row.disabled {
            return Err(Error::AccountDisabled);
        }
        let now = Utc::now();
        let idle = now
            .signed_duration_since(row.last_seen)
            .to_std()
            .unwrap_or_default();
        let timeout = state.config.idle_timeout;
        if idle > timeout {
            return Err(Error::SessionExpired);
        }
        // Throttled: at most one write per minute (or per tenth of a short test timeout).
        let throttle = std::cmp::min(std::time::Duration::from_secs(60), timeout / 10);
        if idle >= throttle {
            let mut tx = state.store.write().await?;
            tx.touch_session(&token_hash, now).await?;
            tx.commit().await?;
        }
        Ok(SessionUser {
            id: row.user_id,
            username: row.username,
            display_name: row.display_name,
            role: row.role,
            unit_id: row.unit_id,
            must_change_password: row.must_change_password,
            client_id: row.client_id,
            token_hash,
        })
    }
}

impl FromRequestParts<SharedState> for AuthUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self> {
        let user = SessionUser::from_request_parts(parts, state).await?;
        if user.must_change_password {
            return Err(Error::PasswordChangeRequired);
        }
        Ok(AuthUser(user))
    }
}

fn retry_after(locked_until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let secs = (locked_until - now).num_milliseconds().max(0) as u64;
    secs.div_ceil(1000).max(1)
}

/// Records a refused login attempt (its own transaction).
async fn audit_login(state: &SharedState, entry: Entry<'_>) -> Result<()> {
    let mut tx = state.store.write().await?;
    tx.audit(entry);
    tx.commit().await
}

/// A user name as it may appear in the audit trail: at most [`MAX_USERNAME_CHARS`], no control
/// characters (an attacker's 500,000-character name is not stored whole).
fn recorded_name(username: &str) -> String {
    crate::audit::bounded(username, MAX_USERNAME_CHARS)
}

/// Whether a name could be an account's at all (anything else is treated as unknown).
fn plausible_name(username: &str) -> bool {
    !username.is_empty()
        && username.chars().count() <= MAX_USERNAME_CHARS
        && !username.chars().any(|c| c.is_control())
}

/// What the server knows of an attempt before checking its password.
struct Attempt {
    /// Its throttle key.
    key: String,
    /// The hashers' lane: the account's own installation, or anyone else.
    lane: Lane,
    /// Whether it may be made now (`Err`: seconds to wait).
    wait: std::result::Result<(), u64>,
}

/// The throttle key and lane of an attempt, and whether it may be made now.
async fn throttle_check(
    reads: &mut dyn Reads,
    user: Option<&LoginUser>,
    username: &str,
    client_id: &str,
    now: DateTime<Utc>,
) -> Result<Attempt> {
    // Read for unknown names too: the same work either way.
    let installation = reads.client(client_id).await?;
    let known = matches!((user, installation), (Some(u), Some(c)) if c.user_id == u.id);
    let key = key_for(username, client_id, known);
    let wait = match reads.throttle(&key).await? {
        Some((_, Some(until))) if until > now => Err(retry_after(until, now)),
        _ => Ok(()),
    };
    let lane = if known { Lane::OwnDesk } else { Lane::Others };
    Ok(Attempt { key, lane, wait })
}

/// Records a failed password check on `key`: the key may now have to wait (its wait returned),
/// and an account under attack raises an alert.
async fn count_failure(
    state: &SharedState,
    key: &str,
    entry: Entry<'_>,
    now: DateTime<Utc>,
) -> Result<Option<u64>> {
    let policy = state.config.login_policy;
    let mut tx = state.store.write().await?;
    let failures = tx.note_throttle_failure(key, now).await?;
    let wait = policy.delay_after(failures);
    if let Some(d) = wait {
        tx.block_throttle(key, now + chrono::Duration::from_std(d).map_err(Error::internal)?)
            .await?;
    }
    let outcome = match wait {
        Some(_) => format!("{}; throttled after {failures} failures", entry.outcome),
        None => entry.outcome.to_owned(),
    };
    tx.audit(Entry {
        outcome: &outcome,
        ..entry.clone()
    });
    if policy.is_alert_level(failures) {
        tracing::warn!(key = %crate::audit::bounded(key, 80), failures, "login attempts: an account is under attack");
        tx.audit(Entry {
            action: "login.under_attack",
            outcome: &format!("{failures} consecutive failures"),
            ..entry
        });
    }
    tx.commit().await?;
    Ok(wait.map(|d| d.as_secs().max(1)))
}

/// `POST LOGIN`.
pub async fn login(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<LoginRequest>,
) -> Result<Json<LoginResponse>> {
    let _attempt = state
        .limiter
        .enter(peer.ip())
        .map_err(|retry_after_secs| Error::RateLimited { retry_after_secs })?;
    let username = req.username.trim();
    let client_id = req.client_id.to_string();
    let now = Utc::now();
    let shown = recorded_name(username);
    let entry = |user_id: Option<i64>, outcome| Entry {
        user_id,
        username: Some(&shown),
        action: "login",
        target: None,
        client_id: Some(&client_id),
        outcome,
    };
    let mut reader = state.store.reader().await?;
    let user = if plausible_name(username) {
        reader.login_user(username).await?
    } else {
        None
    };
    let Attempt { key, lane, wait } =
        throttle_check(&mut *reader, user.as_ref(), &shown, &client_id, now).await?;
    drop(reader);
    if let Err(waiting) = wait {
        state.limiter.charge(peer.ip());
        // Tried during the wait: refused unchecked, and counted (hammering makes the wait
        // grow, and raises the alert), alike for every name.
        let entry = entry(user.as_ref().map(|u| u.id), "throttled");
        let grown = count_failure(&state, &key, entry, now).await?;
        return Err(Error::AccountLocked {
            retry_after_secs: grown.unwrap_or(waiting).max(waiting),
        });
    }
    // Same work as for a real user, so timing does not tell which user names exist.
    let hash = user
        .as_ref()
        .map_or_else(|| state.dummy_hash.clone(), |u| u.password_hash.clone());
    let matches = state.hasher.verify(lane, hash, req.password.clone()).await?;
    let user = match user {
        Some(u) if matches => u,
        other => {
            state.limiter.charge(peer.ip());
            let id = other.as_ref().map(|u| u.id);
            tracing::info!(user = %shown, "failed login");
            return Err(
                match count_failure(&state, &key, entry(id, "bad_credentials"), now).await? {
                    Some(retry_after_secs) => Error::AccountLocked { retry_after_secs },
                    None => Error::BadCredentials,
                },
            );
        }
    };
    if user.disabled {
        audit_login(&state, entry(Some(user.id), "account_disabled")).await?;
        return Err(Error::AccountDisabled);
    }

    let token = new_token();
    let mut tx = state.store.write().await?;
    let owner = tx.register_client(&client_id, user.id, now).await?;
    if owner != user.id {
        tx.audit(entry(Some(user.id), "client_mismatch"));
        tx.commit().await?;
        return Err(Error::ClientMismatch);
    }
    tx.clear_throttle(&key).await?;
    let device = crate::audit::bounded(&req.device, 200);
    tx.create_session(&NewSession {
        token_hash: &hash_token(&token),
        user_id: user.id,
        client_id: &client_id,
        device: &device,
        at: now,
    })
    .await?;
    tx.audit(entry(Some(user.id), "ok"));
    tx.commit().await?;
    tracing::info!(user = %shown, "login");
    Ok(Json(LoginResponse {
        token,
        user: user_info(&user),
        must_change_password: user.must_change_password,
        idle_timeout_secs: state.config.idle_timeout.as_secs(),
        server_time: Utc::now(),
    }))
}

/// `POST LOGOUT`: revokes the session. 204.
pub async fn logout(State(state): State<SharedState>, user: SessionUser) -> Result<StatusCode> {
    let mut tx = state.store.write().await?;
    tx.revoke_session(&user.token_hash).await?;
    tx.audit(user.audit_entry("logout", None, "ok"));
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST PASSWORD`: checks the old password and R-PWD, stores the new hash, clears the
/// must-change flag and ends the user's other sessions. 204. The old-password check counts like
/// a login on this installation's throttle key (a stolen token cannot guess freely).
pub async fn change_password(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    user: SessionUser,
    Json(req): Json<ChangePasswordRequest>,
) -> Result<StatusCode> {
    let _attempt = state
        .limiter
        .enter(peer.ip())
        .map_err(|retry_after_secs| Error::RateLimited { retry_after_secs })?;
    let now = Utc::now();
    let key = key_for(&user.username, &user.client_id, true);
    let mut reader = state.store.reader().await?;
    let hash = reader
        .password_hash(user.id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if let Some((_, Some(until))) = reader.throttle(&key).await? {
        if until > now {
            return Err(Error::AccountLocked {
                retry_after_secs: retry_after(until, now),
            });
        }
    }
    drop(reader);
    let refuse = |outcome: &'static str| {
        let state = state.clone();
        let user = user.clone();
        async move {
            let mut tx = state.store.write().await?;
            tx.audit(user.audit_entry("change_password", None, outcome));
            tx.commit().await
        }
    };
    if !state
        .hasher
        .verify(Lane::OwnDesk, hash, req.old_password.clone())
        .await?
    {
        state.limiter.charge(peer.ip());
        let entry = user.audit_entry("change_password", None, "bad_credentials");
        return Err(match count_failure(&state, &key, entry, now).await? {
            Some(retry_after_secs) => Error::AccountLocked { retry_after_secs },
            None => Error::BadCredentials,
        });
    }
    let problems = check_password(&req.new_password).err().unwrap_or_default();
    let reused = req.new_password == req.old_password;
    if !problems.is_empty() || reused {
        refuse("weak_password").await?;
        return Err(Error::WeakPassword { problems, reused });
    }
    let new_hash = state.hasher.hash(req.new_password.clone()).await?;
    let mut tx = state.store.write().await?;
    tx.set_password(user.id, &new_hash, false).await?;
    tx.revoke_other_sessions(user.id, &user.token_hash).await?;
    tx.clear_throttle(&key).await?;
    tx.audit(user.audit_entry("change_password", None, "ok"));
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST ADMIN_UNLOCK`: the sysadmin clears an account's login throttling (after making sure
/// in person that the attempts were the user's own, or an attack is over). 204; audited.
pub async fn unlock(
    State(state): State<SharedState>,
    admin: AuthUser,
    UrlPath(username): UrlPath<String>,
) -> Result<StatusCode> {
    let target = recorded_name(&username);
    let mut tx = state.store.write().await?;
    if admin.role != Role::Sysadmin {
        tx.audit(admin.audit_entry("user.unlock", Some(&target), "forbidden"));
        tx.commit().await?;
        return Err(Error::Forbidden);
    }
    let Some(id) = tx.user_id(&username).await? else {
        return Err(Error::NotFound);
    };
    let (stranger, installations) = crate::throttle::keys_of(&username);
    tx.clear_throttle(&stranger).await?;
    let cleared = tx.clear_throttles_with_prefix(&installations).await?;
    tx.clear_failed_logins(id).await?;
    tx.audit(admin.audit_entry(
        "user.unlock",
        Some(&target),
        &format!("ok, {} keys cleared", cleared + 1),
    ));
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /me/presence`: the caller is away (暂离) or back on duty. The new presence is a
/// colleague change: every desk of the unit pulls it, so the A/B answer (who acts as A) moves
/// to the B clerk while A is away (R-AB).
pub async fn set_presence(
    State(state): State<SharedState>,
    user: SessionUser,
    Json(req): Json<SetPresence>,
) -> Result<StatusCode> {
    if !req.presence.settable_from_desk() {
        return Err(Error::InvalidField {
            field: "presence".to_owned(),
            message: "只能设为在岗（on_duty）或暂离（away）".to_owned(),
        });
    }
    let mut tx = state.store.write().await?;
    let seq = tx.next_seq().await?;
    tx.set_presence(user.id, req.presence, seq).await?;
    let action = format!("presence.{}", req.presence.code());
    tx.audit(user.audit_entry(&action, None, "ok"));
    tx.announce(crate::Committed {
        seq,
        unit_id: user.unit_id,
        old_unit_id: None,
        agent_id: None,
        background: false,
    });
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
