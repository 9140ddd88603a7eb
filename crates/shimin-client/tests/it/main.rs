//! Integration tests of the desk core (one binary).

mod clocks;
mod engine;
mod fake_server;
mod fixtures;
mod live;
mod store;
