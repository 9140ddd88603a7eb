//! Office accounts: creating them (admin command, demo) as directory rows desks sync.

use crate::store::{NewUser, Writes};
use crate::{Error, Result};

/// Longest user name, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;
/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 50;

/// Creates an account under a new change number; returns its id. Fails with `invalid_field`
/// if the name is taken or malformed, or the unit does not exist.
pub async fn add_user(tx: &mut dyn Writes, u: &NewUser<'_>) -> Result<i64> {
    let username = u.username.trim();
    if username.is_empty() || username.chars().count() > MAX_USERNAME_CHARS {
        return Err(Error::invalid("username", "用户名须为1–64个字符"));
    }
    if username.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid("username", "用户名不能含空白或控制字符"));
    }
    let display = u.display_name.trim();
    if display.is_empty() || display.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(Error::invalid("display_name", "姓名须为1–50个字符"));
    }
    if tx.user_id(username).await?.is_some() {
        return Err(Error::invalid("username", "用户名已存在"));
    }
    if let Some(unit) = u.unit_id {
        if !tx.unit_exists(unit).await? {
            return Err(Error::invalid("unit", "单位不存在"));
        }
    }
    let seq = tx.next_seq().await?;
    tx.add_user(
        &NewUser {
            username,
            display_name: display,
            ..u.clone()
        },
        seq,
    )
    .await
}
