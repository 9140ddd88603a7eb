//! Errors, authentication and common envelopes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Every error body: a stable `code` (see [`crate::codes`]) and a zh-CN `message` for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    /// Machine-readable extras (e.g. password problems, expected sequence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// Seconds until a retry may succeed (lockout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

/// Liveness probe answer; also how a client measures its clock offset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub service: String,
    pub protocol_version: u32,
    pub min_protocol_version: u32,
    pub server_time: DateTime<Utc>,
    /// `sqlite` or `postgres`: the database answered just now (a load balancer's check; the
    /// server answers 503 `unavailable` when it does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The installation's id (generated once, kept in the cache); the push sequence is per
    /// client id.
    pub client_id: Uuid,
    /// Free text to recognise the device in the audit trail, e.g. the host name.
    #[serde(default)]
    pub device: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("client_id", &self.client_id)
            .finish()
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Opaque bearer token; the server keeps only its hash.
    pub token: String,
    pub user: UserInfo,
    /// When true the token only allows [`crate::paths::PASSWORD`] and logout (R-PWD).
    pub must_change_password: bool,
    /// The session ends after this long without a request.
    pub idle_timeout_secs: u64,
    pub server_time: DateTime<Utc>,
}

impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"<redacted>")
            .field("user", &self.user)
            .field("must_change_password", &self.must_change_password)
            .finish()
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangePasswordRequest {
    pub old_password: String,
    pub new_password: String,
}

impl std::fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangePasswordRequest { <redacted> }")
    }
}

/// A clerk marks themself away (暂离) or back on duty (在岗). Leave (请假) and shifts are set by
/// the office, not from the desk (`Presence::settable_from_desk`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetPresence {
    #[serde(with = "crate::coded")]
    pub presence: shimin_domain::ladder::Presence,
}

/// Most reveals in one [`RevealBatch`].
pub const MAX_REVEAL_BATCH: usize = 100;

/// A desk's record that its user showed a citizen's masked number in full (R-SEC, R-AUD).
/// The desk shows the value from its cache at once, online or not, and sends the record with
/// its next sync; `id` makes sending it again harmless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reveal {
    pub id: Uuid,
    pub item_id: Uuid,
    #[serde(with = "crate::coded")]
    pub field: shimin_domain::identity::PersonalField,
    /// When the desk showed it (the desk's clock corrected by the server offset).
    pub at: DateTime<Utc>,
}

/// `POST` [`crate::paths::REVEALS`]: reveals the desk has not yet handed in (recorded with the
/// session's own client installation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevealBatch {
    pub reveals: Vec<Reveal>,
}

/// The answer to a [`RevealBatch`]: how many were new to the server (the rest it already had,
/// or named items it does not know). Every reveal of the batch is settled either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevealReceipt {
    pub recorded: u32,
}

/// The logged-in user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// On the wire as `shimin_domain::role::Role::code`.
    #[serde(with = "crate::coded")]
    pub role: shimin_domain::role::Role,
    pub unit_id: Option<i64>,
}

impl UserInfo {
    /// This user as the domain's rules see them.
    pub fn actor(&self) -> shimin_domain::role::Actor {
        shimin_domain::role::Actor {
            user_id: self.id,
            role: self.role,
            unit_id: self.unit_id,
        }
    }
}

/// Answer of the intake API: the new item's id and number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Created {
    pub id: Uuid,
    pub number: String,
    pub server_time: DateTime<Utc>,
}

/// Answer to a calendar update (`PUT ADMIN_CALENDAR`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarAccepted {
    /// The calendar version now in force.
    pub version: u32,
    /// Change sequence number of the update (desks pull it as `Change::Calendar`).
    pub seq: i64,
    /// Open items whose running deadline moved with the new calendar.
    pub items_rescheduled: u64,
}

/// Start (or resume) uploading a blob: what the desk is about to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobUploadStart {
    /// SHA-256 of the whole content, lower-case hex: the blob's address.
    pub hash: String,
    pub size: u64,
    pub mime: String,
}

/// Where this user's upload of a blob stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobUploadState {
    pub hash: String,
    pub size: u64,
    /// Bytes the server holds of this upload: the next chunk starts here.
    pub received: u64,
    /// Verified (hash and type) and stored: the blob may be referred to.
    pub complete: bool,
}

/// The citizen-facing progress of an item (在线查询).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitizenProgress {
    pub number: String,
    #[serde(with = "crate::coded")]
    pub kind: shimin_domain::item::ItemKind,
    #[serde(with = "crate::coded")]
    pub status: shimin_domain::item::Status,
    /// What the citizen reads, e.g. 代办员已递交窗口，等待预审.
    pub progress: String,
    /// The steps so far, oldest first: (when, what), without names of staff.
    pub steps: Vec<ProgressStep>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressStep {
    pub at: chrono::DateTime<chrono::Utc>,
    pub step: String,
}

/// A desk release the county's IT published (issue 15): what it is and how to check the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateManifest {
    /// e.g. `0.2.0`.
    pub version: String,
    /// What is new (zh-CN), shown to the clerk before consent.
    pub notes: String,
    /// The package's file name (`UPDATE_FILE`).
    pub file: String,
    pub size: u64,
    /// SHA-256 (hex) of the package.
    pub sha256: String,
    pub published_at: DateTime<Utc>,
}

/// `GET UPDATE_LATEST`: the manifest as the exact JSON text that was signed, and its Ed25519
/// signature (base64) by the county's update key. The desk verifies the signature over these
/// bytes before it parses them, then the package's size and SHA-256 after downloading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedUpdate {
    pub manifest: String,
    pub signature: String,
}
