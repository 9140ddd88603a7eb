//! Headless desk core of Shimin Desk (市民网窗口端): the encrypted local cache, the durable
//! outbox of the clerk's actions, the sync engine with endpoint failover. No UI types: the
//! Tauri shell (`src-tauri`), the CLI (`shimin-desk-cli`) and the end-to-end tests drive
//! [`Desk`].
//!
//! Map:
//! - [`config`]: endpoints, cache key, timings.
//! - [`store`]: SQLCipher cache (sqlx); outbox, rebase, queues.
//! - [`view`]: pure optimistic application of ops (same `decide` as the server).
//! - [`engine`]: sans-IO sync decisions (failover, backoff, preferred return).
//! - [`clock`]: countdowns, the reservation ladder and the calendar warning, computed locally.
//! - `driver`: the background loop doing the HTTP for the engine.
//! - [`desk`]: the public façade.
//!
//! Architecture invariants: reads come from the cache only (offline works); the session token
//! lives in memory only; citizens' personal data never reach a log line.

pub mod attachment;
pub mod clock;
pub mod config;
pub mod desk;
mod driver;
pub mod engine;
mod error;
mod http;
pub mod store;
pub mod update;
pub mod view;

pub use clock::{ActingA, CalendarWarning, ClockLevel, Clocks, Countdown, DueLadder, LadderNotice};
pub use config::{CacheKey, ClientConfig, Endpoint, DEFAULT_ENDPOINTS};
pub use desk::{
    CacheEvent, Desk, LoginOutcome, NewCase, SecurityProblem, SessionToken, SyncHandle, SyncReport,
    SyncStatus,
};
pub use error::{CertProblem, Error, Result};
pub use http::Security;
pub use shimin_protocol::{Op, UserInfo};
pub use store::{ItemView, QueueQuery, QueueView, RejectionNotice, Store};
