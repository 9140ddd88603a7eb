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

use crate::audit::{self, Entry};
use crate::db::{parse_ts, ts};
use crate::http::Json;
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

#[derive(Debug, sqlx::FromRow)]
struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    role: String,
    unit_id: Option<i64>,
    password_hash: String,
    must_change_password: bool,
    locked_until: Option<String>,
    disabled: bool,
}

impl UserRow {
    fn info(&self) -> UserInfo {
        UserInfo {
            id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role.clone(),
            unit_id: self.unit_id,
        }
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

#[derive(Debug, sqlx::FromRow)]
struct SessionRow {
    client_id: String,
    last_seen: String,
    revoked: bool,
    id: i64,
    username: String,
    display_name: String,
    role: String,
    unit_id: Option<i64>,
    must_change_password: bool,
    disabled: bool,
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
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT s.client_id, s.last_seen, s.revoked, u.id, u.username, u.display_name, u.role, u.unit_id,
                    u.must_change_password, u.disabled
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
        )
        .bind(&token_hash)
        .fetch_optional(&state.pool)
        .await?;
        let row = row.ok_or(Error::Unauthenticated)?;
        if row.revoked {
            return Err(Error::Unauthenticated);
        }
        if row.disabled {
            return Err(Error::AccountDisabled);
        }
        let now = Utc::now();
        let last_seen = parse_ts(&row.last_seen)?;
        let idle = now.signed_duration_since(last_seen).to_std().unwrap_or_default();
        let timeout = state.config.idle_timeout;
        if idle > timeout {
            return Err(Error::SessionExpired);
        }
        // Throttled: at most one write per minute (or per tenth of a short test timeout).
        let throttle = std::cmp::min(std::time::Duration::from_secs(60), timeout / 10);
        if idle >= throttle {
            sqlx::query("UPDATE sessions SET last_seen = ? WHERE token_hash = ?")
                .bind(ts(now))
                .bind(&token_hash)
                .execute(&state.writer)
                .await?;
        }
        let role = Role::from_code(&row.role)
            .ok_or_else(|| Error::internal(format!("unknown role {}", row.role)))?;
        Ok(SessionUser {
            id: row.id,
            username: row.username,
            display_name: row.display_name,
            role,
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

/// `POST LOGIN`.
pub async fn login(
    State(state): State<SharedState>,
    Json(req): Json<LoginRequest>,
) -> Result<Json<LoginResponse>> {
    let username = req.username.trim().to_owned();
    let client_id = req.client_id.to_string();
    let now = Utc::now();
    let user: Option<UserRow> = sqlx::query_as(
        "SELECT id, username, display_name, role, unit_id, password_hash, must_change_password, locked_until, disabled
         FROM users WHERE username = ?",
    )
    .bind(&username)
    .fetch_optional(&state.pool)
    .await?;
    let audit_fail = |user_id: Option<i64>, outcome: &'static str| {
        let state = state.clone();
        let username = username.clone();
        let client_id = client_id.clone();
        async move {
            let mut conn = state.writer.acquire().await?;
            audit::record(
                &mut conn,
                Entry {
                    user_id,
                    username: Some(&username),
                    action: "login",
                    target: None,
                    client_id: Some(&client_id),
                    outcome,
                },
            )
            .await
        }
    };
    let Some(user) = user else {
        // Same work as for a real user, so timing does not tell which user names exist.
        let _ = verify_password(state.dummy_hash.clone(), req.password.clone()).await?;
        audit_fail(None, "bad_credentials").await?;
        return Err(Error::BadCredentials);
    };
    if let Some(until) = user.locked_until.as_deref().map(parse_ts).transpose()? {
        if until > now {
            audit_fail(Some(user.id), "account_locked").await?;
            return Err(Error::AccountLocked {
                retry_after_secs: retry_after(until, now),
            });
        }
    }
    if !verify_password(user.password_hash.clone(), req.password.clone()).await? {
        let lock_for = chrono::Duration::from_std(state.config.lockout_for).map_err(Error::internal)?;
        let mut tx = state.writer.begin().await?;
        let failures: i64 = sqlx::query_scalar(
            "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins",
        )
        .bind(user.id)
        .fetch_one(&mut *tx)
        .await?;
        let locked = failures >= i64::from(state.config.lockout_after);
        if locked {
            sqlx::query("UPDATE users SET failed_logins = 0, locked_until = ? WHERE id = ?")
                .bind(ts(now + lock_for))
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
        }
        let outcome = if locked {
            "bad_credentials; account_locked"
        } else {
            "bad_credentials"
        };
        audit::record(
            &mut tx,
            Entry {
                user_id: Some(user.id),
                username: Some(&username),
                action: "login",
                target: None,
                client_id: Some(&client_id),
                outcome,
            },
        )
        .await?;
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
        audit_fail(Some(user.id), "account_disabled").await?;
        return Err(Error::AccountDisabled);
    }

    let token = new_token();
    let mut tx = state.writer.begin().await?;
    sqlx::query(
        "INSERT OR IGNORE INTO clients (client_id, user_id, last_seq, created_at) VALUES (?, ?, 0, ?)",
    )
    .bind(&client_id)
    .bind(user.id)
    .bind(ts(now))
    .execute(&mut *tx)
    .await?;
    let owner: i64 = sqlx::query_scalar("SELECT user_id FROM clients WHERE client_id = ?")
        .bind(&client_id)
        .fetch_one(&mut *tx)
        .await?;
    // The audit record of this login attempt, whatever its outcome.
    let login_entry = |outcome| Entry {
        user_id: Some(user.id),
        username: Some(&username),
        action: "login",
        target: None,
        client_id: Some(&client_id),
        outcome,
    };
    if owner != user.id {
        audit::record(&mut tx, login_entry("client_mismatch")).await?;
        tx.commit().await?;
        return Err(Error::ClientMismatch);
    }
    sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?")
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, client_id, device, created_at, last_seen, revoked)
         VALUES (?, ?, ?, ?, ?, ?, 0)",
    )
    .bind(hash_token(&token))
    .bind(user.id)
    .bind(&client_id)
    .bind(req.device.chars().take(200).collect::<String>())
    .bind(ts(now))
    .bind(ts(now))
    .execute(&mut *tx)
    .await?;
    audit::record(&mut tx, login_entry("ok")).await?;
    tx.commit().await?;
    tracing::info!(user = %username, "login");
    Ok(Json(LoginResponse {
        token,
        user: user.info(),
        must_change_password: user.must_change_password,
        idle_timeout_secs: state.config.idle_timeout.as_secs(),
        server_time: Utc::now(),
    }))
}

/// `POST LOGOUT`: revokes the session. 204.
pub async fn logout(State(state): State<SharedState>, user: SessionUser) -> Result<StatusCode> {
    let mut tx = state.writer.begin().await?;
    sqlx::query("UPDATE sessions SET revoked = 1 WHERE token_hash = ?")
        .bind(&user.token_hash)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut tx, user.audit_entry("logout", None, "ok")).await?;
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
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?")
        .bind(user.id)
        .fetch_one(&state.pool)
        .await?;
    let audit_outcome = |outcome: &'static str| {
        let state = state.clone();
        let user = user.clone();
        async move {
            let mut conn = state.writer.acquire().await?;
            audit::record(
                &mut conn,
                Entry {
                    user_id: Some(user.id),
                    username: Some(&user.username),
                    action: "change_password",
                    target: None,
                    client_id: Some(&user.client_id),
                    outcome,
                },
            )
            .await
        }
    };
    if !verify_password(hash, req.old_password.clone()).await? {
        audit_outcome("bad_credentials").await?;
        return Err(Error::BadCredentials);
    }
    let problems = check_password(&req.new_password).err().unwrap_or_default();
    let reused = req.new_password == req.old_password;
    if !problems.is_empty() || reused {
        audit_outcome("weak_password").await?;
        return Err(Error::WeakPassword { problems, reused });
    }
    let new_hash = hash_password_blocking(state.config.hash_params, req.new_password.clone()).await?;
    let mut tx = state.writer.begin().await?;
    sqlx::query("UPDATE users SET password_hash = ?, must_change_password = 0 WHERE id = ?")
        .bind(new_hash)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE sessions SET revoked = 1 WHERE user_id = ? AND token_hash <> ?")
        .bind(user.id)
        .bind(&user.token_hash)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut tx, user.audit_entry("change_password", None, "ok")).await?;
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
    if !SetPresence::ALLOWED.contains(&req.presence.as_str()) {
        return Err(Error::InvalidField {
            field: "presence".to_owned(),
            message: "只能设为在岗（on_duty）或暂离（away）".to_owned(),
        });
    }
    let mut tx = state.writer.begin_with("BEGIN IMMEDIATE").await?;
    let seq = crate::db::next_seq(&mut tx).await?;
    sqlx::query("UPDATE users SET presence = ?, version = ? WHERE id = ?")
        .bind(&req.presence)
        .bind(seq)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    let action = format!("presence.{}", req.presence);
    audit::record(&mut tx, user.audit_entry(&action, None, "ok")).await?;
    tx.commit().await?;
    state.notify([crate::Committed {
        seq,
        unit_id: user.unit_id,
        old_unit_id: None,
        agent_id: None,
        background: false,
    }]);
    Ok(StatusCode::NO_CONTENT)
}
