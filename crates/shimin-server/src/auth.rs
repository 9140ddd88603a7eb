//! Authentication (R-PWD, R-AUD): login with lockout, bearer sessions with idle expiry,
//! forced and voluntary password change, logout.
//!
//! Tokens are 32 random bytes (base64url) given to the client once; the server stores only
//! their SHA-256. Password hashing (argon2id) runs on the blocking pool.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use shimin_domain::password::check_password;
use shimin_domain::role::{Actor, Role};
use shimin_protocol::{ChangePasswordRequest, LoginRequest, LoginResponse, SetPresence, UserInfo};

use crate::audit::Entry;
use crate::http::Json;
use crate::store::{LoginUser, NewSession};
use crate::{Error, HashParams, Result, SharedState};

fn argon2(params: HashParams) -> Result<Argon2<'static>> {
    let p = Params::new(params.m_kib, params.t, params.p, None).map_err(Error::internal)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, p))
}

/// Hashes a password (argon2id, PHC string). CPU-heavy: call from a blocking context.
pub fn hash_password(params: HashParams, password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2(params)?
        .hash_password(password.as_bytes(), &salt)
        .map_err(Error::internal)?
        .to_string())
}

pub async fn hash_password_blocking(params: HashParams, password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(params, &password))
        .await
        .map_err(Error::internal)?
}

/// Verifies against a stored PHC hash (its own parameters), on the blocking pool.
pub async fn verify_password(hash: String, password: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(Error::internal)?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
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

/// `POST LOGIN`.
pub async fn login(
    State(state): State<SharedState>,
    Json(req): Json<LoginRequest>,
) -> Result<Json<LoginResponse>> {
    let username = req.username.trim().to_owned();
    let client_id = req.client_id.to_string();
    let now = Utc::now();
    let user = state.store.reader().await?.login_user(&username).await?;
    let entry = |user_id: Option<i64>, outcome| Entry {
        user_id,
        username: Some(&username),
        action: "login",
        target: None,
        client_id: Some(&client_id),
        outcome,
    };
    let Some(user) = user else {
        // Same work as for a real user, so timing does not tell which user names exist.
        let _ = verify_password(state.dummy_hash.clone(), req.password.clone()).await?;
        audit_login(&state, entry(None, "bad_credentials")).await?;
        return Err(Error::BadCredentials);
    };
    if let Some(until) = user.locked_until.filter(|u| *u > now) {
        audit_login(&state, entry(Some(user.id), "account_locked")).await?;
        return Err(Error::AccountLocked {
            retry_after_secs: retry_after(until, now),
        });
    }
    if !verify_password(user.password_hash.clone(), req.password.clone()).await? {
        let lock_for = chrono::Duration::from_std(state.config.lockout_for).map_err(Error::internal)?;
        let mut tx = state.store.write().await?;
        let failures = tx.note_failed_login(user.id).await?;
        let locked = failures >= i64::from(state.config.lockout_after);
        if locked {
            tx.lock_user(user.id, now + lock_for).await?;
        }
        tx.audit(entry(
            Some(user.id),
            if locked {
                "bad_credentials; account_locked"
            } else {
                "bad_credentials"
            },
        ));
        tx.commit().await?;
        tracing::info!(user = %username, failures, locked, "failed login");
        return Err(if locked {
            Error::AccountLocked {
                retry_after_secs: state.config.lockout_for.as_secs().max(1),
            }
        } else {
            Error::BadCredentials
        });
    }
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
    tx.clear_failed_logins(user.id).await?;
    let device: String = req.device.chars().take(200).collect();
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
    tracing::info!(user = %username, "login");
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
/// must-change flag and ends the user's other sessions. 204.
pub async fn change_password(
    State(state): State<SharedState>,
    user: SessionUser,
    Json(req): Json<ChangePasswordRequest>,
) -> Result<StatusCode> {
    let hash = state
        .store
        .reader()
        .await?
        .password_hash(user.id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let refuse = |outcome: &'static str| {
        let state = state.clone();
        let user = user.clone();
        async move {
            let mut tx = state.store.write().await?;
            tx.audit(user.audit_entry("change_password", None, outcome));
            tx.commit().await
        }
    };
    if !verify_password(hash, req.old_password.clone()).await? {
        refuse("bad_credentials").await?;
        return Err(Error::BadCredentials);
    }
    let problems = check_password(&req.new_password).err().unwrap_or_default();
    let reused = req.new_password == req.old_password;
    if !problems.is_empty() || reused {
        refuse("weak_password").await?;
        return Err(Error::WeakPassword { problems, reused });
    }
    let new_hash = hash_password_blocking(state.config.hash_params, req.new_password.clone()).await?;
    let mut tx = state.store.write().await?;
    tx.set_password(user.id, &new_hash, false).await?;
    tx.revoke_other_sessions(user.id, &user.token_hash).await?;
    tx.audit(user.audit_entry("change_password", None, "ok"));
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
