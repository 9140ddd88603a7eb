//! Integration tests of the desk core (one binary).

mod cli;
mod clocks;
mod engine;
mod fixtures;
mod queue;
mod store;
