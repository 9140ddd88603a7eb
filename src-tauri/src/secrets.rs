//! The OS keyring (Secret Service on Linux, Credential Manager on Windows, Keychain on macOS):
//! the cache key and, with "remember me" (记住我), the session token. Never the password, and
//! never a file: the settings file and the cache hold nothing that unlocks either.

use crate::error::CmdResult;
use keyring::Entry;
use serde::{Deserialize, Serialize};
use shimin_client::{CacheKey, SessionToken};
use shimin_protocol::UserInfo;

/// The keyring service name of every entry.
pub const SERVICE: &str = "shimin-desk";

/// The keyring entries of one installation (see `Settings::installation_id`).
#[derive(Debug, Clone)]
pub struct Secrets {
    installation: String,
}

/// A remembered session: enough to resume without the password (the server still decides
/// whether the token is valid).
#[derive(Clone, Serialize, Deserialize)]
pub struct RememberedSession {
    pub token: String,
    pub user: UserInfo,
}

impl std::fmt::Debug for RememberedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RememberedSession")
            .field("user", &self.user.username)
            .finish_non_exhaustive()
    }
}

impl Secrets {
    pub fn new(installation: &str) -> Secrets {
        Secrets {
            installation: installation.to_owned(),
        }
    }

    fn entry(&self, what: &str) -> CmdResult<Entry> {
        Ok(Entry::new(SERVICE, &format!("{what}:{}", self.installation))?)
    }

    /// The cache key, created (random, 256 bits) on first use. `created` tells whether it is new:
    /// an existing cache file cannot be read with a new key.
    pub fn cache_key(&self) -> CmdResult<(CacheKey, bool)> {
        let entry = self.entry("cache-key")?;
        match entry.get_password() {
            Ok(hex) => {
                if let Some(key) = CacheKey::from_hex(&hex) {
                    return Ok((key, false));
                }
                tracing::warn!("cache key in the keyring is malformed; a new one is made");
            }
            Err(keyring::Error::NoEntry) => {}
            Err(e) => return Err(e.into()),
        }
        let key = CacheKey::random();
        entry.set_password(&key.to_hex().expect("a random key is raw"))?;
        Ok((key, true))
    }

    pub fn remember(&self, token: &SessionToken, user: &UserInfo) -> CmdResult<()> {
        let value = serde_json::to_string(&RememberedSession {
            token: token.expose().to_owned(),
            user: user.clone(),
        })
        .expect("serializable");
        Ok(self.entry("session")?.set_password(&value)?)
    }

    pub fn remembered(&self) -> CmdResult<Option<RememberedSession>> {
        match self.entry("session")?.get_password() {
            Ok(v) => Ok(serde_json::from_str(&v).ok()),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub fn forget_session(&self) -> CmdResult<()> {
        match self.entry("session")?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
