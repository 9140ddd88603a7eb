//! End-to-end tests: the real `shimin-server` on loopback addresses, real `shimin-client`
//! desks with real (SQLCipher) cache files, network paths that can be cut, and a desk process
//! that is killed. Nothing here contacts anything off this machine.

mod support;

mod at_rest;
mod bootstrap;
mod claim_race;
mod counter;
mod crash;
mod delegation;
mod deploy;
mod desktop;
mod failover;
mod instances;
mod live;
mod lost_response;
mod moving;
mod offline;
mod scoping;
mod tls;
mod updates;
