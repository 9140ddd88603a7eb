//! Integration tests of shimin-domain: one binary, one module per area.

mod attachment;
mod calendar;
mod clock;
mod items;
mod ladder;
mod password;
mod role;
