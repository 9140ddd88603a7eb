//! Support for the end-to-end tests: a controllable TCP proxy that stands in for a network
//! path (cut it, bring it back, lose responses), helpers to run the real server and real desk
//! clients on loopback addresses only, and a headless desktop session (X server, session bus,
//! keyring, notification daemon, WebDriver) for tests of the desk app's real window.

pub mod desktop;
pub mod pki;
pub mod proxy;
pub mod support;

/// Re-exported so that tests using this crate need no own dependency on them.
pub use fantoccini;
pub use sqlx;
