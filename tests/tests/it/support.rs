//! Shared set-up: the reusable part lives in the library (`shimin_e2e::support`), so the desk
//! app's own end-to-end tests can use it too.

pub use shimin_e2e::support::*;
