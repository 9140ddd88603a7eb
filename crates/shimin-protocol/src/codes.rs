//! Stable error codes of [`crate::ApiError`]. The desk branches on these, never on messages.

/// Body is not valid JSON or does not match the expected shape (400).
pub const MALFORMED_REQUEST: &str = "malformed_request";
/// Body larger than [`crate::MAX_BODY_BYTES`] (413).
pub const BODY_TOO_LARGE: &str = "body_too_large";
/// A field has an invalid value (422); the message names the field, `details` is
/// `{"field": "<name>"}` (e.g. `applicant.name`, `requested_slot`).
pub const INVALID_FIELD: &str = "invalid_field";
/// Missing or unsupported protocol version (426): the client must be updated.
pub const PROTOCOL_UNSUPPORTED: &str = "protocol_unsupported";
/// No token, unknown, revoked or expired token (401).
pub const UNAUTHENTICATED: &str = "unauthenticated";
/// Token expired through inactivity (401).
pub const SESSION_EXPIRED: &str = "session_expired";
/// Wrong user name or password (401). Deliberately one code for both.
pub const BAD_CREDENTIALS: &str = "bad_credentials";
/// Too many failed password checks on this account (from this installation, or from unknown
/// ones): wait `retry_after_secs` (423). Answered alike for names no account has.
pub const ACCOUNT_LOCKED: &str = "account_locked";
/// Account disabled by an administrator (403).
pub const ACCOUNT_DISABLED: &str = "account_disabled";
/// First login with an issued password: only a password change is allowed (403).
pub const PASSWORD_CHANGE_REQUIRED: &str = "password_change_required";
/// New password breaks R-PWD (422); `details` lists the problems as
/// `{"problems": ["too_short", …]}`: `PasswordProblem` codes, plus `reused` when the new
/// password equals the old one.
pub const WEAK_PASSWORD: &str = "weak_password";
/// The role may not call this endpoint (403).
pub const FORBIDDEN: &str = "forbidden";
/// Unknown resource (404).
pub const NOT_FOUND: &str = "not_found";
/// The client id is registered to another user (409).
pub const CLIENT_MISMATCH: &str = "client_mismatch";
/// A push's sequence numbers do not continue the server's (409): `details` holds the next
/// expected one, `{"expected": <seq>}`. Mutations before it in the same batch were processed.
/// Also the answer when a number the server has used came back with another mutation id (its
/// numbering and the desk's disagree, e.g. after a restore): the desk renumbers its pending
/// mutations from `expected` and sends them again (a mutation id is applied once whatever
/// number it comes under).
pub const SEQUENCE_GAP: &str = "sequence_gap";
/// A pull's cursor is beyond the newest change the server has (409): the server was restored
/// to an older state. `details`: `{"server_seq": <n>}`. The desk bootstraps again, keeping its
/// pending mutations.
pub const CURSOR_AHEAD: &str = "cursor_ahead";
/// A calendar update whose version is not higher than the stored one (409); `details` is
/// `{"stored_version": <n>}`.
pub const CALENDAR_STALE: &str = "calendar_stale";
/// An attachment is empty, too large, of a type not accepted, or its content is not of the
/// type it claims (413 / 415 / 422): the code is the domain's `AttachmentProblem::code`
/// (`attachment_empty`, `attachment_too_large`, `attachment_unsupported`,
/// `attachment_type_mismatch`); the message says which and why.
pub const ATTACHMENT_TOO_LARGE: &str = "attachment_too_large";
/// The virus check of an upload found something (§21.6): the file is quarantined, a mutation
/// referring to it is rejected. The desk keeps its own copy and shows the refusal.
pub const ATTACHMENT_INFECTED: &str = "attachment_infected";
/// A chunk's bytes do not match the SHA-256 sent with it (a cut or damaged transfer) (422):
/// nothing of it was stored; send it again from the same offset.
pub const CHUNK_CORRUPT: &str = "chunk_corrupt";
/// A chunk does not start where the upload stands (409); `details` is `{"received": <n>}`,
/// the offset to continue from.
pub const UPLOAD_OFFSET: &str = "upload_offset";
/// The complete upload's SHA-256 is not the blob's address (422): the upload starts over.
pub const HASH_MISMATCH: &str = "hash_mismatch";
/// A mutation refers to an attachment whose upload by this user is not complete (rejected
/// mutation code): upload first, or the upload was truncated.
pub const BLOB_MISSING: &str = "blob_missing";
/// A delegated case with this id exists already (rejected mutation code).
pub const ALREADY_EXISTS: &str = "already_exists";
/// The server cannot serve now (503): its database does not answer. A load balancer takes the
/// instance out of rotation on it.
pub const UNAVAILABLE: &str = "unavailable";
/// Too many password attempts from this client address (429); `retry_after_secs` says when.
pub const RATE_LIMITED: &str = "rate_limited";
/// Every password check slot is busy (503); retry in `retry_after_secs`.
pub const BUSY: &str = "busy";
/// The method is not allowed on this path (405).
pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
/// Server fault (500); details are in the server log, never in the body.
pub const INTERNAL: &str = "internal";
