//! Support for the end-to-end tests: a controllable TCP proxy that stands in for a network
//! path (cut it, bring it back, lose responses), and helpers to run the real server and real
//! desk clients on loopback addresses only.

pub mod proxy;
