//! Wire types of the Shimin Desk protocol: what the desk client, the citizen portal and the
//! central server (`shimin-server`) exchange as JSON over HTTP.
//!
//! Architecture invariant: this crate holds types and their (de)serialisation only. Rules live
//! in `shimin-domain`; every enum that mirrors a domain enum converts through the domain's
//! stable `code()` strings, so there is one list of codes.
//!
//! # Versions
//! Every request carries [`PROTOCOL_HEADER`]. A server that does not speak the client's version
//! answers `426 Upgrade Required` with code [`codes::PROTOCOL_UNSUPPORTED`] ("please update").
//! - 1 (2026-11): first version: login, pull/push/poke sync, intake. Additive since: the
//!   calendar update endpoint, `ItemRecord.overdue` / `supervision`, code `calendar_stale`;
//!   delegated cases (2026-12): ops `register_case`, `add_attachment`, `collect_result`,
//!   `deliver_to_citizen`, `hand_over.place`, status `collected`, `ItemEvent.place`,
//!   `ItemDetails.attachments` / `delivery`, blob upload endpoints, the progress query;
//!   `Poke.spread_ms` (pull background changes at a random moment within it).
//!   Wave 2 (2026-12): kinds, statuses, roles, presences and unit kinds are enums in the
//!   types ([`coded`]), the same codes on the wire; `PullResponse.epoch` (additive); the
//!   reveals endpoint (additive); counter events, hall calls and ticket times (additive).

pub mod api;
pub mod cases;
pub mod catalog;
pub mod coded;
pub mod codes;
pub mod counter;
pub mod items;
pub mod stats;
pub mod sync;

pub use api::*;
pub use cases::*;
pub use catalog::*;
pub use counter::*;
pub use items::*;
pub use stats::*;
pub use sync::*;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// Oldest client protocol version the server still serves.
pub const MIN_PROTOCOL_VERSION: u32 = 1;
/// Request header carrying the client's protocol version.
pub const PROTOCOL_HEADER: &str = "x-shimin-protocol";
/// Response header carrying the server's time (RFC 3339), on every response.
pub const SERVER_TIME_HEADER: &str = "x-shimin-server-time";
/// Largest request body the server accepts, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest chunk of a blob upload, in bytes (fits [`MAX_BODY_BYTES`]).
pub const BLOB_CHUNK_BYTES: usize = 512 * 1024;
/// Header of a blob chunk: the SHA-256 (hex) of the chunk's bytes.
pub const CHUNK_SHA256_HEADER: &str = "x-shimin-chunk-sha256";
/// Most mutations in one push.
pub const MAX_PUSH_BATCH: usize = 500;
/// Most changes in one pull page.
pub const MAX_PULL_LIMIT: u32 = 5000;

/// Paths of the API, one place for server routes and client calls.
pub mod paths {
    pub const HEALTH: &str = "/api/v1/health";
    pub const LOGIN: &str = "/api/v1/auth/login";
    pub const LOGOUT: &str = "/api/v1/auth/logout";
    pub const PASSWORD: &str = "/api/v1/auth/password";
    /// `PUT`: the caller's own presence ([`crate::SetPresence`]): "I'm away" (暂离) and back.
    pub const PRESENCE: &str = "/api/v1/me/presence";
    pub const PULL: &str = "/api/v1/sync/pull";
    pub const PUSH: &str = "/api/v1/sync/push";
    pub const EVENTS: &str = "/api/v1/sync/events";
    pub const INTAKE_RESERVATION: &str = "/api/v1/intake/reservations";
    pub const INTAKE_CONSULTATION: &str = "/api/v1/intake/consultations";
    pub const INTAKE_APPLICATION: &str = "/api/v1/intake/applications";
    pub const INTAKE_COMPLAINT: &str = "/api/v1/intake/complaints";
    pub const INTAKE_EVALUATION: &str = "/api/v1/intake/evaluations";
    /// `POST` [`crate::BlobUploadStart`]: start or resume uploading an attachment's blob.
    pub const BLOBS: &str = "/api/v1/blobs";
    /// `PUT …/{hash}?offset=N` with a chunk as the body (header [`crate::CHUNK_SHA256_HEADER`]);
    /// `GET …/{hash}` reads a blob the caller may see.
    pub const BLOB: &str = "/api/v1/blobs/{hash}";
    /// `GET …/{number}`: the citizen-facing progress of an item (在线查询), portal only.
    pub const INTAKE_PROGRESS: &str = "/api/v1/intake/progress/{number}";
    /// `PUT`: a new version of the working-time calendar ([`crate::CalendarWire`]); sysadmin only.
    pub const ADMIN_CALENDAR: &str = "/api/v1/admin/calendar";
    /// `POST`: clear an account's login throttling (sysadmin only).
    pub const ADMIN_UNLOCK: &str = "/api/v1/admin/users/{username}/unlock";
    /// `POST` [`crate::RevealBatch`]: the desk's records of masked numbers shown in full.
    pub const REVEALS: &str = "/api/v1/reveals";
    /// `POST` [`crate::TicketEventBatch`]: the desk's counter events (叫号, 挂起, 办结, …).
    pub const TICKET_EVENTS: &str = "/api/v1/counter/events";
    /// `GET`: the latest calls at the caller's site today ([`crate::HallCall`]), for the hall screen.
    pub const HALL_CALLS: &str = "/api/v1/counter/calls";
    /// `GET ?day=`: the tickets of a day in the caller's scope with their times ([`crate::TicketReport`]).
    pub const COUNTER_TICKETS: &str = "/api/v1/counter/tickets";
    /// `GET ?window=N`: tickets sent to window N of the caller's site today ([`crate::TransferredTicket`]).
    pub const COUNTER_TRANSFERS: &str = "/api/v1/counter/transfers";
    /// `GET ?open=`: the supervision cases (督办) of the caller's scope ([`crate::SupervisionCase`]);
    /// `POST` [`crate::OpenCase`]: a supervisor opens one.
    pub const SUPERVISION_CASES: &str = "/api/v1/supervision/cases";
    /// `POST` [`crate::AnswerCase`]: the unit's leader answers case `{id}`.
    pub const SUPERVISION_CASE_ANSWER: &str = "/api/v1/supervision/cases/{id}/answer";
    /// `POST` [`crate::ReviewCase`]: a supervisor returns the answer.
    pub const SUPERVISION_CASE_RETURN: &str = "/api/v1/supervision/cases/{id}/return";
    /// `POST` [`crate::ReviewCase`]: a supervisor closes the case.
    pub const SUPERVISION_CASE_CLOSE: &str = "/api/v1/supervision/cases/{id}/close";
    /// `POST` [`crate::ReviewCase`]: the unit's leader appeals a bad rating's follow-up (申诉复核).
    pub const SUPERVISION_CASE_APPEAL: &str = "/api/v1/supervision/cases/{id}/appeal";
    /// `POST` [`crate::ReviewCase`]: a supervisor upholds the appeal (the rating leaves the figures).
    pub const SUPERVISION_CASE_UPHOLD: &str = "/api/v1/supervision/cases/{id}/uphold";
    /// `POST` [`crate::ReviewCase`]: a supervisor rejects the appeal (the unit follows up).
    pub const SUPERVISION_CASE_REJECT: &str = "/api/v1/supervision/cases/{id}/reject";
    /// `GET ?from=&to=`: the statistics of the caller's scope for a period ([`crate::StatsReport`]).
    pub const STATS: &str = "/api/v1/stats";
    /// The newest desk release the county published (signed); outside the protocol gate, so
    /// that a desk too old for the protocol still finds its update.
    pub const UPDATE_LATEST: &str = "/api/v1/updates/latest";
    /// A published package file (`{name}` as the manifest names it).
    pub const UPDATE_FILE: &str = "/api/v1/updates/files/{name}";
}
