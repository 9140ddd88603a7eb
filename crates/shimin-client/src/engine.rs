//! The sync engine's decisions, without IO (sans-IO): which endpoint to use, when to probe,
//! when to sync, when to open the live stream, how long to back off, when to return to the
//! preferred endpoint. Fed with [`Event`]s and the current time, it answers with [`Action`]s;
//! [`crate::driver`] does the HTTP and feeds the results back.
//!
//! Endpoints are indices into the configured list, 0 = most preferred.
//!
//! - No endpoint in use: probe all endpoints at once; use the lowest index that answers once
//!   every lower one has failed. All fail → back off (exponential, capped, jittered).
//! - In use: keep the live stream (SSE) open; sync on poke, on local mutation, on the poll
//!   timer (every `poll_interval` while the stream is down, every `4 × poll_interval` while
//!   up). A sync that cannot reach the endpoint drops it and starts a new search.
//! - A later endpoint in use: every `preferred_retry`, probe the better ones; the first that
//!   answers is switched to.

use std::time::{Duration, Instant};

/// Source of jitter in `[0, 1)`; injected so tests are deterministic.
pub trait Jitter: Send {
    fn next(&mut self) -> f64;
}

/// Jitter from the thread RNG.
#[derive(Debug, Default)]
pub struct RandomJitter;

impl Jitter for RandomJitter {
    fn next(&mut self) -> f64 {
        rand::random::<f64>()
    }
}

impl<F: FnMut() -> f64 + Send> Jitter for F {
    fn next(&mut self) -> f64 {
        self()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineConfig {
    pub endpoints: usize,
    pub poll_interval: Duration,
    pub preferred_retry: Duration,
    /// First backoff step (before jitter).
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    ProbeOk(usize),
    ProbeFailed(usize),
    SyncOk(usize),
    /// The endpoint could not be reached during a sync.
    SyncUnreachable(usize),
    /// The endpoint answered with an error (auth, server fault, …).
    SyncFailed(usize),
    SseConnected(usize),
    SseDropped(usize),
    /// The server says something changed.
    Poke(usize),
    /// The clerk did something: push soon.
    LocalMutation,
    /// Logged in / password changed: forget the backoff and sync now.
    SessionChanged,
}

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Probe(usize),
    /// Push then pull on this endpoint.
    Sync(usize),
    OpenSse(usize),
    CloseSse,
}

pub struct Engine {
    cfg: EngineConfig,
    jitter: Box<dyn Jitter>,
    active: Option<usize>,
    /// Results of the current search round (None = not answered yet).
    search: Option<Vec<Option<bool>>>,
    /// Consecutive failures, for the backoff.
    failures: u32,
    retry_at: Option<Instant>,
    syncing: bool,
    sync_wanted: bool,
    next_poll: Option<Instant>,
    sse: Option<usize>,
    live: bool,
    sse_failures: u32,
    sse_retry_at: Option<Instant>,
    next_preferred_probe: Option<Instant>,
    /// Better endpoints being probed right now.
    preferred_probes: Vec<usize>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("active", &self.active)
            .field("failures", &self.failures)
            .field("syncing", &self.syncing)
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub fn new(cfg: EngineConfig, jitter: Box<dyn Jitter>) -> Engine {
        Engine {
            cfg,
            jitter,
            active: None,
            search: None,
            failures: 0,
            retry_at: None,
            syncing: false,
            sync_wanted: true,
            next_poll: None,
            sse: None,
            live: false,
            sse_failures: 0,
            sse_retry_at: None,
            next_preferred_probe: None,
            preferred_probes: Vec::new(),
        }
    }

    /// The endpoint in use.
    pub fn active(&self) -> Option<usize> {
        self.active
    }

    /// Whether the live stream is connected on the active endpoint.
    pub fn live(&self) -> bool {
        self.live && self.sse.is_some() && self.sse == self.active
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The backoff before retry number `failures` (≥ 1): `min(max, base·2^(n−1))`, then
    /// "equal jitter": uniformly in `[d/2, d]`.
    pub fn backoff(&mut self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(20);
        let d = self
            .cfg
            .backoff_base
            .saturating_mul(1u32 << exp)
            .min(self.cfg.backoff_max);
        let j = self.jitter.next().clamp(0.0, 1.0);
        d / 2 + d.mul_f64(j) / 2
    }

    /// Feeds one event.
    pub fn handle(&mut self, now: Instant, event: Event) {
        match event {
            Event::ProbeOk(i) | Event::ProbeFailed(i) => {
                let ok = matches!(event, Event::ProbeOk(_));
                if let Some(results) = self.search.as_mut() {
                    if let Some(slot) = results.get_mut(i) {
                        *slot = Some(ok);
                    }
                }
                if let Some(pos) = self.preferred_probes.iter().position(|p| *p == i) {
                    self.preferred_probes.remove(pos);
                    if ok && self.active.is_some_and(|a| i < a) {
                        self.switch_to(now, i);
                    }
                }
            }
            Event::SyncOk(i) => {
                self.syncing = false;
                if self.active == Some(i) {
                    self.failures = 0;
                    self.retry_at = None;
                    self.next_poll = Some(now + self.poll_period());
                }
            }
            Event::SyncUnreachable(i) => {
                self.syncing = false;
                if self.active == Some(i) {
                    self.failures += 1;
                    self.retry_at = Some(now + self.backoff(self.failures));
                    self.active = None;
                    self.live = false;
                    self.sync_wanted = true;
                }
            }
            Event::SyncFailed(i) => {
                self.syncing = false;
                if self.active == Some(i) {
                    self.failures += 1;
                    self.retry_at = Some(now + self.backoff(self.failures));
                    self.sync_wanted = true;
                }
            }
            Event::SseConnected(i) => {
                if self.sse == Some(i) {
                    self.live = true;
                    self.sse_failures = 0;
                    self.sync_wanted = true;
                }
            }
            Event::SseDropped(i) => {
                if self.sse == Some(i) {
                    // A stream that was up broke: the endpoint may be gone, a sync finds out
                    // (and fails over). A stream that never came up says less; polling covers.
                    if self.live {
                        self.sync_wanted = true;
                    }
                    self.sse = None;
                    self.live = false;
                    self.sse_failures += 1;
                    let d = self.backoff(self.sse_failures);
                    self.sse_retry_at = Some(now + d);
                }
            }
            Event::Poke(_) | Event::LocalMutation => self.sync_wanted = true,
            Event::SessionChanged => {
                self.sync_wanted = true;
                if self.active.is_some() {
                    self.failures = 0;
                    self.retry_at = None;
                }
                self.sse_failures = 0;
                self.sse_retry_at = None;
                // Reopen the stream with the new token.
                if self.sse.take().is_some() {
                    self.live = false;
                }
            }
        }
    }

    fn poll_period(&self) -> Duration {
        if self.live() {
            self.cfg.poll_interval * 4
        } else {
            self.cfg.poll_interval
        }
    }

    fn switch_to(&mut self, now: Instant, i: usize) {
        self.active = Some(i);
        self.search = None;
        self.live = false;
        self.sync_wanted = true;
        self.sse_failures = 0;
        self.sse_retry_at = None;
        self.preferred_probes.clear();
        self.next_preferred_probe = (i > 0).then(|| now + self.cfg.preferred_retry);
    }

    /// What to do now.
    pub fn poll(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.cfg.endpoints == 0 {
            return actions;
        }
        if self.active.is_none() {
            if self.sse.take().is_some() {
                self.live = false;
                actions.push(Action::CloseSse);
            }
            if let Some(results) = &self.search {
                // The lowest endpoint not known to be down decides: up → use it; unknown → wait.
                match results.iter().position(|r| *r != Some(false)) {
                    Some(i) if results[i] == Some(true) => self.switch_to(now, i),
                    Some(_) => {}
                    None => {
                        self.search = None;
                        self.failures += 1;
                        self.retry_at = Some(now + self.backoff(self.failures));
                    }
                }
            } else if self.retry_at.is_none_or(|t| now >= t) {
                self.search = Some(vec![None; self.cfg.endpoints]);
                actions.extend((0..self.cfg.endpoints).map(Action::Probe));
            }
        }
        if let Some(a) = self.active {
            if self.sse != Some(a) && self.sse_retry_at.is_none_or(|t| now >= t) {
                if self.sse.is_some() {
                    actions.push(Action::CloseSse);
                }
                self.sse = Some(a);
                self.live = false;
                actions.push(Action::OpenSse(a));
            }
            let poll_due = self.next_poll.is_some_and(|t| now >= t);
            let backoff_over = self.retry_at.is_none_or(|t| now >= t);
            if !self.syncing && (self.sync_wanted || poll_due) && backoff_over {
                self.syncing = true;
                self.sync_wanted = false;
                self.next_poll = None;
                actions.push(Action::Sync(a));
            }
            if a > 0
                && self.preferred_probes.is_empty()
                && self.next_preferred_probe.is_some_and(|t| now >= t)
            {
                self.preferred_probes = (0..a).collect();
                self.next_preferred_probe = Some(now + self.cfg.preferred_retry);
                actions.extend((0..a).map(Action::Probe));
            }
        }
        actions
    }

    /// When [`Engine::poll`] should run next at the latest (events aside).
    pub fn next_deadline(&self, now: Instant) -> Instant {
        let far = now + Duration::from_secs(3600);
        let mut t = far;
        let mut consider = |x: Option<Instant>| {
            if let Some(x) = x {
                t = t.min(x);
            }
        };
        match self.active {
            None => {
                if self.search.is_none() {
                    consider(self.retry_at);
                }
            }
            Some(a) => {
                if !self.syncing {
                    consider(if self.sync_wanted {
                        self.retry_at.or(Some(now))
                    } else {
                        self.next_poll
                    });
                }
                if self.sse != Some(a) {
                    consider(self.sse_retry_at.or(Some(now)));
                }
                if a > 0 && self.preferred_probes.is_empty() {
                    consider(self.next_preferred_probe);
                }
            }
        }
        t.max(now)
    }
}
