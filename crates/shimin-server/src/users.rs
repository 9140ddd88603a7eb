//! Office accounts: creating them (admin command, demo) and the directory rows desks sync.

use chrono::Utc;
use shimin_domain::role::Role;
use sqlx::SqliteConnection;

use crate::db::{next_seq, ts};
use crate::{Error, Result};

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub unit_id: Option<i64>,
    /// An argon2id PHC hash (see [`crate::auth::hash_password`]).
    pub password_hash: &'a str,
    /// Issued accounts must change the password on first login (R-PWD).
    pub must_change_password: bool,
}

/// Creates an account; returns its id. Fails with `invalid_field` if the name is taken or the
/// unit does not exist.
pub async fn add_user(conn: &mut SqliteConnection, u: &NewUser<'_>) -> Result<i64> {
    let username = u.username.trim();
    if username.is_empty() || username.chars().count() > 64 {
        return Err(Error::invalid("username", "用户名须为1–64个字符"));
    }
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = ?")
        .bind(username)
        .fetch_optional(&mut *conn)
        .await?;
    if taken.is_some() {
        return Err(Error::invalid("username", "用户名已存在"));
    }
    if let Some(unit) = u.unit_id {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM units WHERE id = ?")
            .bind(unit)
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_none() {
            return Err(Error::invalid("unit", "单位不存在"));
        }
    }
    let seq = next_seq(conn).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, display_name, role, unit_id, password_hash, must_change_password, created_at, version)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(username)
    .bind(u.display_name)
    .bind(u.role.code())
    .bind(u.unit_id)
    .bind(u.password_hash)
    .bind(u.must_change_password)
    .bind(ts(Utc::now()))
    .bind(seq)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Finds a unit by id (digits) or exact name.
pub async fn find_unit(conn: &mut SqliteConnection, unit: &str) -> Result<Option<i64>> {
    if let Ok(id) = unit.parse::<i64>() {
        return Ok(sqlx::query_scalar("SELECT id FROM units WHERE id = ?")
            .bind(id)
            .fetch_optional(conn)
            .await?);
    }
    Ok(sqlx::query_scalar("SELECT id FROM units WHERE name = ?")
        .bind(unit)
        .fetch_optional(conn)
        .await?)
}
