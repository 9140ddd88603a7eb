//! The audit trail (R-AUD): who did what, when, from which client, with what outcome.
//!
//! Append-only twice over: the database refuses UPDATE and DELETE of entries (triggers), and
//! the entries form a hash chain: each carries `SHA-256(previous hash ‖ the entry)`, so a
//! changed, removed or inserted entry is found by [`verify`] (`shimin-server audit verify`).
//! Entries are buffered in a write transaction and chained when it commits
//! ([`crate::store::Writes::audit`]). Never put citizens' personal data here; targets are item
//! numbers/ids and user names.

use chrono::{DateTime, SubsecRound, Utc};
use sha2::{Digest, Sha256};

use crate::store::dump::{AuditDump, Rows, Table};
use crate::store::Store;
use crate::Result;

/// The previous hash of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit record, as the code that records it has it.
#[derive(Debug, Clone, Default)]
pub struct Entry<'a> {
    pub user_id: Option<i64>,
    pub username: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub outcome: &'a str,
}

/// An entry waiting for its transaction's commit, stamped with the instant it was recorded
/// (microseconds, as every backend stores them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedEntry {
    pub at: DateTime<Utc>,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub client_id: Option<String>,
    pub outcome: String,
}

/// Longest text of an audit field, in characters (issue 16, finding 3: untrusted input never
/// reaches the permanent record unbounded).
pub const MAX_FIELD_CHARS: usize = 256;

/// `s` cut to `max` characters (an ellipsis marking a cut), control characters replaced.
pub fn bounded(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if s.chars().nth(max).is_some() {
        out.pop();
        out.push('…');
    }
    out
}

impl Entry<'_> {
    /// The entry as it is recorded: every text bounded by [`MAX_FIELD_CHARS`].
    pub fn to_owned_entry(&self) -> OwnedEntry {
        let b = |s: &str| bounded(s, MAX_FIELD_CHARS);
        OwnedEntry {
            at: Utc::now().trunc_subsecs(6),
            user_id: self.user_id,
            username: self.username.map(b),
            action: b(self.action),
            target: self.target.map(b),
            client_id: self.client_id.map(b),
            outcome: b(self.outcome),
        }
    }
}

/// The chain hash of entry `id` after `prev`: SHA-256 (hex) of the previous hash, a newline and
/// the entry's canonical JSON (`[id, at, user_id, username, action, target, client_id,
/// outcome]`, `at` in RFC 3339 with microseconds).
pub fn chain_hash(prev: &str, id: i64, e: &OwnedEntry) -> String {
    let canonical = serde_json::json!([
        id,
        e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        e.user_id,
        e.username,
        e.action,
        e.target,
        e.client_id,
        e.outcome,
    ]);
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(canonical.to_string().as_bytes());
    crate::blobs::hex(&h.finalize())
}

impl From<&AuditDump> for OwnedEntry {
    fn from(a: &AuditDump) -> OwnedEntry {
        OwnedEntry {
            at: a.at,
            user_id: a.user_id,
            username: a.username.clone(),
            action: a.action.clone(),
            target: a.target.clone(),
            client_id: a.client_id.clone(),
            outcome: a.outcome.clone(),
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub entries: u64,
    /// The newest entry's hash (the chain head).
    pub head: String,
    /// The first entry that breaks the chain: (id, why).
    pub broken: Option<(i64, String)>,
}

/// Walks the chain oldest first, recomputing every hash.
pub async fn verify(store: &Store) -> Result<Verified> {
    let mut out = Verified {
        entries: 0,
        head: GENESIS.to_owned(),
        broken: None,
    };
    let mut expected_id = 1;
    store
        .export_each(Table::AuditLog, |rows| {
            let Rows::AuditLog(entries) = rows else {
                return Ok(());
            };
            for a in entries {
                out.entries += 1;
                if out.broken.is_some() {
                    continue;
                }
                if a.id != expected_id {
                    out.broken = Some((a.id, format!("第{expected_id}条缺失（序号不连续）")));
                    continue;
                }
                let hash = chain_hash(&out.head, a.id, &OwnedEntry::from(&a));
                if hash != a.hash {
                    out.broken = Some((a.id, "内容或前序记录已被改动（哈希不符）".to_owned()));
                    continue;
                }
                out.head = hash;
                expected_id += 1;
            }
            Ok(())
        })
        .await?;
    Ok(out)
}
