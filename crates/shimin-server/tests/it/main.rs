//! Integration tests of shimin-server: a real server on 127.0.0.1:0, real SQLite files in temp
//! dirs, HTTP through reqwest.

mod audit;
mod auth;
mod cases;
mod clocks;
mod demo;
mod events;
mod hardening;
mod input;
mod pull;
mod push;
mod scope;
mod stats;
mod storage;
mod support;
