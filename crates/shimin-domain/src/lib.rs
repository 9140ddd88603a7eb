//! Pure domain rules of Shimin Desk (市民网窗口端), shared by the central server and the desk client.
//!
//! Architecture invariant: this crate does no IO, owns no wire format (no serde) and is the
//! *only* implementation of every rule it holds. A deadline, a state transition or a permission
//! check is computed by the same function on the server (authoritative) and on the desk
//! (optimistic, offline). See `ARCHITECTURE.md`.

pub mod attachment;
pub mod calendar;
pub mod card;
pub mod clock;
pub mod counter;
pub mod identity;
pub mod item;
pub mod ladder;
pub mod login;
pub mod password;
pub mod role;
pub mod stats;
pub mod statutory;
pub mod supervision;
