//! Part 4: server load. N light desks (raw HTTP, no cache) each hold a live stream (SSE) and
//! pull after each poke, as the desk's sync loop does; the portal creates reservations at a
//! steady rate across the departments. Measured: each pull's latency (request → decoded
//! answer), the time from intake until each desk in scope has pulled the item, the server's
//! RSS (sampled) and every error.
//!
//! Logins happen once, before the steps (argon2 is deliberately slow); each desk has its own
//! session. The load generator runs on the same cores as the server: the figures are those
//! of "this machine" with both on it.

use crate::report::{summary, Figure, Target};
use crate::server_proc::LoadServer;
use crate::sys::mib;
use crate::wire::{reservation, Api};
use anyhow::{bail, Context, Result};
use eventsource_stream::Eventsource;
use futures_util::{stream, StreamExt};
use shimin_domain::role::Role;
use shimin_protocol::{events, Change, Poke};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use uuid::Uuid;

pub const PASSWORD: &str = shimin_server::demo::DEMO_PASSWORD;

/// A logged-in desk session.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub unit: Option<&'static str>,
}

/// Office accounts of the demo county (everyone but the portal), a department clerk first.
pub fn office_users() -> Vec<(String, Role, Option<&'static str>)> {
    let county = shimin_server::demo::DemoCounty::new();
    let mut users: Vec<_> = county
        .users
        .iter()
        .filter(|u| u.role != Role::Portal)
        .map(|u| (u.username.clone(), u.role, u.unit))
        .collect();
    if let Some(pos) = users.iter().position(|u| u.1 == Role::Clerk && u.2.is_some()) {
        users.swap(0, pos);
    }
    users
}

/// Logs `n` sessions in, round-robin over the office accounts, a few at a time.
pub async fn login_sessions(api: &Api, n: usize) -> Result<Vec<Session>> {
    let users = office_users();
    let results: Vec<Result<Session>> = stream::iter(0..n)
        .map(|i| {
            let (username, _, unit) = users[i % users.len()].clone();
            let api = api.clone();
            async move {
                let resp = api.login(&username, PASSWORD, Uuid::new_v4()).await?;
                Ok(Session {
                    token: resp.token,
                    unit,
                })
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    results.into_iter().collect()
}

#[derive(Default)]
struct Shared {
    connected: AtomicUsize,
    errors: AtomicU64,
    first_errors: Mutex<Vec<String>>,
    inflight: AtomicI64,
    pulls: AtomicU64,
    /// Milliseconds since `epoch` of the last finished pull.
    last_activity_ms: AtomicU64,
    stopping: AtomicBool,
    pull_ms: Mutex<Vec<f64>>,
    seen: Mutex<Vec<(Uuid, Instant)>>,
}

impl Shared {
    fn error(&self, e: impl std::fmt::Display) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_errors.lock().unwrap_or_else(|p| p.into_inner());
        if first.len() < 5 {
            first.push(e.to_string());
        }
    }
}

async fn desk_task(api: Api, token: String, shared: Arc<Shared>, epoch: Instant) {
    let resp = match api.events(&token).await {
        Ok(r) => r,
        Err(e) => return shared.error(format!("open live stream: {e:#}")),
    };
    let mut stream = resp.bytes_stream().eventsource();
    let mut cursor: Option<i64> = None;
    while let Some(ev) = stream.next().await {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                if !shared.stopping.load(Ordering::Relaxed) {
                    shared.error(format!("live stream: {e}"));
                }
                return;
            }
        };
        let Ok(poke) = serde_json::from_str::<Poke>(&ev.data) else {
            continue;
        };
        if ev.event == events::HELLO {
            if cursor.is_none() {
                shared.connected.fetch_add(1, Ordering::Relaxed);
            }
            cursor = Some(cursor.unwrap_or(poke.seq).max(poke.seq));
            continue;
        }
        if ev.event != events::POKE || cursor.is_some_and(|c| poke.seq <= c) {
            continue;
        }
        if poke.spread_ms > 0 {
            // Background change (the server's 预警/督办 sweep): the desk pulls at a random moment
            // within the spread, as shimin-client's driver does — at once if an urgent poke (a
            // new reservation) comes in meanwhile.
            let delay = rand::Rng::gen_range(&mut rand::thread_rng(), 0..u64::from(poke.spread_ms));
            let wake = tokio::time::sleep(std::time::Duration::from_millis(delay));
            tokio::pin!(wake);
            loop {
                tokio::select! {
                    _ = &mut wake => break,
                    next = stream.next() => match next {
                        Some(Ok(ev)) if ev.event == events::POKE => {
                            let urgent = serde_json::from_str::<Poke>(&ev.data).is_ok_and(|p| p.spread_ms == 0);
                            if urgent {
                                break;
                            }
                        }
                        Some(Ok(_)) => {}
                        // The stream ended: the outer loop notices on its next read.
                        _ => break,
                    },
                }
            }
        }
        // Pull until the end of the snapshot (pokes arriving meanwhile are coalesced).
        shared.inflight.fetch_add(1, Ordering::Relaxed);
        loop {
            let t = Instant::now();
            match api.pull(&token, cursor.unwrap_or(0), 1000).await {
                Ok(page) => {
                    let done = Instant::now();
                    shared
                        .pull_ms
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((done - t).as_secs_f64() * 1000.0);
                    shared.pulls.fetch_add(1, Ordering::Relaxed);
                    {
                        let mut seen = shared.seen.lock().unwrap_or_else(|p| p.into_inner());
                        for c in &page.changes {
                            if let Change::Item(rec) = c {
                                seen.push((rec.id, done));
                            }
                        }
                    }
                    cursor = Some(page.cursor);
                    if !page.has_more {
                        break;
                    }
                }
                Err(e) => {
                    shared.error(format!("pull: {e:#}"));
                    break;
                }
            }
        }
        shared.inflight.fetch_sub(1, Ordering::Relaxed);
        shared
            .last_activity_ms
            .store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
    if !shared.stopping.load(Ordering::Relaxed) {
        shared.error("live stream ended");
    }
}

#[derive(Debug, Clone)]
pub struct StepPlan {
    pub clients: usize,
    pub items: usize,
    pub rate_per_s: f64,
    /// Create items only for these matters (the reference step: the single desk's unit).
    pub matters: Vec<i64>,
}

#[derive(Debug, Clone)]
pub struct StepResult {
    pub clients: usize,
    pub connected: usize,
    pub pull_ms: Vec<f64>,
    pub arrival_ms: Vec<f64>,
    pub pulls: u64,
    pub errors: u64,
    pub first_errors: Vec<String>,
    pub rss_peak_kib: u64,
    pub rss_connected_kib: u64,
    pub items: usize,
}

/// The servers a load step runs against: one, or several instances on one database (desks
/// spread over them round-robin; the portal's intake goes to the first, so desks of the others
/// learn of new items through the instances' change notifications).
pub struct Servers<'a> {
    pub servers: &'a [&'a LoadServer],
    pub apis: Vec<Api>,
}

impl<'a> Servers<'a> {
    pub fn new(servers: &'a [&'a LoadServer]) -> Result<Servers<'a>> {
        let apis = servers.iter().map(|s| Api::new(s.url())).collect::<Result<_>>()?;
        Ok(Servers { servers, apis })
    }

    /// The sum of the instances' resident sets, KiB.
    fn rss_kib(&self) -> u64 {
        self.servers.iter().filter_map(|s| s.rss_kib()).sum()
    }

    fn rss_reader(&self) -> impl Fn() -> Option<u64> + Send + 'static {
        let readers: Vec<_> = self.servers.iter().map(|s| s.rss_reader()).collect();
        move || Some(readers.iter().filter_map(|r| r()).sum())
    }
}

/// One step: connect `plan.clients` desks, create items, wait until quiet, disconnect.
pub async fn step(
    servers: &Servers<'_>,
    sessions: &[Session],
    portal_token: &str,
    plan: &StepPlan,
) -> Result<StepResult> {
    let api = &servers.apis[0];
    let epoch = Instant::now();
    let shared = Arc::new(Shared::default());
    let rss_peak = Arc::new(AtomicU64::new(servers.rss_kib()));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (rss_peak, sampling) = (rss_peak.clone(), sampling.clone());
        let pid_reader = servers.rss_reader();
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                if let Some(kib) = pid_reader() {
                    rss_peak.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let mut desks = JoinSet::new();
    for (i, s) in sessions.iter().take(plan.clients).enumerate() {
        let desk_api = servers.apis[i % servers.apis.len()].clone();
        desks.spawn(desk_task(desk_api, s.token.clone(), shared.clone(), epoch));
        // Do not open a thousand connections in the same millisecond (listen backlog).
        if desks.len() % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let connect_deadline = Instant::now() + Duration::from_secs(60);
    while shared.connected.load(Ordering::Relaxed) + (shared.errors.load(Ordering::Relaxed) as usize)
        < plan.clients
        && Instant::now() < connect_deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connected = shared.connected.load(Ordering::Relaxed);
    // Settle, then read the server's RSS with every stream open and nothing happening.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_connected_kib = servers.rss_kib();

    // Progress (and a marker an external profiler can wait for: the measured window starts).
    eprintln!(
        "shimin-bench: part 4, {} desks: {connected} streams open, items arriving…",
        plan.clients
    );
    let mut created: HashMap<Uuid, Instant> = HashMap::new();
    let gap = Duration::from_secs_f64(1.0 / plan.rate_per_s);
    let mut next = Instant::now();
    for i in 0..plan.items {
        tokio::time::sleep_until(next.into()).await;
        next += gap;
        let matter = plan.matters[i % plan.matters.len()];
        let t0 = Instant::now();
        match api
            .reserve(portal_token, &reservation(matter, 10_000 + i as u64))
            .await
        {
            Ok(c) => {
                created.insert(c.id, t0);
            }
            Err(e) => shared.error(format!("intake: {e:#}")),
        }
    }
    // Quiet: nothing in flight and no pull finished for 500 ms (at most 60 s).
    let quiet_deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let idle_for = (epoch.elapsed().as_millis() as u64)
            .saturating_sub(shared.last_activity_ms.load(Ordering::Relaxed));
        if (shared.inflight.load(Ordering::Relaxed) == 0 && idle_for >= 500)
            || Instant::now() >= quiet_deadline
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("shimin-bench: part 4, {} desks: quiet", plan.clients);
    shared.stopping.store(true, Ordering::Relaxed);
    desks.shutdown().await;
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    let pull_ms = std::mem::take(&mut *shared.pull_ms.lock().unwrap_or_else(|p| p.into_inner()));
    let seen = std::mem::take(&mut *shared.seen.lock().unwrap_or_else(|p| p.into_inner()));
    let arrival_ms = seen
        .iter()
        .filter_map(|(id, t)| created.get(id).map(|t0| (*t - *t0).as_secs_f64() * 1000.0))
        .collect();
    let first_errors = shared
        .first_errors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    Ok(StepResult {
        clients: plan.clients,
        connected,
        pull_ms,
        arrival_ms,
        pulls: shared.pulls.load(Ordering::Relaxed),
        errors: shared.errors.load(Ordering::Relaxed),
        first_errors,
        rss_peak_kib: rss_peak.load(Ordering::Relaxed),
        rss_connected_kib,
        items: created.len(),
    })
}

/// Matter ids by unit name, from one pull (the catalogue is not scoped).
pub async fn matters(api: &Api, token: &str) -> Result<Vec<(i64, i64)>> {
    let page = api.pull(token, 0, shimin_protocol::MAX_PULL_LIMIT).await?;
    let m: Vec<(i64, i64)> = page
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Matter(m) => Some((m.id, m.unit_id)),
            _ => None,
        })
        .collect();
    if m.is_empty() {
        bail!("the catalogue has no matters");
    }
    Ok(m)
}

/// Unit id of a session (from its own pull of the directory).
pub async fn unit_of(api: &Api, s: &Session) -> Result<i64> {
    let name = s.unit.context("session without unit")?;
    let page = api.pull(&s.token, 0, shimin_protocol::MAX_PULL_LIMIT).await?;
    page.changes
        .iter()
        .find_map(|c| match c {
            Change::Unit(u) if u.name == name => Some(u.id),
            _ => None,
        })
        .with_context(|| format!("unit {name} not in the directory"))
}

pub struct Plan {
    pub steps: Vec<usize>,
    pub items_per_step: usize,
    pub rate_per_s: f64,
}

pub async fn run(servers: &[&LoadServer], plan: &Plan) -> Result<Vec<Figure>> {
    let servers = Servers::new(servers)?;
    let api = servers.apis[0].clone();
    let rss_start = servers.rss_kib();
    let max = plan.steps.iter().copied().max().unwrap_or(1);
    let nofile = crate::sys::raise_nofile();
    if (nofile as usize) < 2 * max + 64 {
        bail!("open-files limit {nofile} too low for {max} desks (2 sockets each)");
    }
    let sessions = login_sessions(&api, max).await.context("logging the desks in")?;
    let portal = api
        .login("portal", PASSWORD, Uuid::new_v4())
        .await
        .context("portal login")?
        .token;
    let all_matters = matters(&api, &sessions[0].token).await?;
    let unit0 = unit_of(&api, &sessions[0]).await?;
    let own: Vec<i64> = all_matters
        .iter()
        .filter(|(_, u)| *u == unit0)
        .map(|(m, _)| *m)
        .collect();
    let everywhere: Vec<i64> = all_matters.iter().map(|(m, _)| *m).collect();
    let rss_idle = servers.rss_kib();

    // Reference: one desk, items all in its unit, same rate.
    let reference = step(
        &servers,
        &sessions,
        &portal,
        &StepPlan {
            clients: 1,
            items: plan.items_per_step.min(20),
            rate_per_s: plan.rate_per_s,
            matters: own,
        },
    )
    .await?;
    if reference.errors > 0 || reference.pull_ms.is_empty() {
        bail!(
            "reference step (1 desk) failed: {} errors {:?}",
            reference.errors,
            reference.first_errors
        );
    }
    let (_, _, ref_pull_p99, _) = summary(reference.pull_ms.clone());
    let (ref_pull_p50, _, _, _) = summary(reference.pull_ms.clone());
    let (_, _, ref_arrival_p99, _) = summary(reference.arrival_ms.clone());

    let mut figures = Vec::new();
    for &n in &plan.steps {
        let r = step(
            &servers,
            &sessions,
            &portal,
            &StepPlan {
                clients: n,
                items: plan.items_per_step,
                rate_per_s: plan.rate_per_s,
                matters: everywhere.clone(),
            },
        )
        .await?;
        let (p50, _, p99, max_ms) = summary(r.pull_ms.clone());
        let (a50, _, a99, _) = summary(r.arrival_ms.clone());
        let note = format!(
            "{} of {} desks connected; {} items at {}/s; {} pulls; max {:.1} ms",
            r.connected, r.clients, r.items, plan.rate_per_s, r.pulls, max_ms
        );
        figures.push(
            Figure::new(
                4,
                format!("load.c{n}.pull_p50_ms"),
                format!("{n} desks: pull latency p50"),
                p50,
                "ms",
            )
            .reference(ref_pull_p50, "ms", "1 desk, p50"),
        );
        figures.push(
            Figure::new(
                4,
                format!("load.c{n}.pull_p99_ms"),
                format!("{n} desks: pull latency p99"),
                p99,
                "ms",
            )
            .reference(ref_pull_p99, "ms", "1 desk, p99")
            .target(Target::at_most(50.0, "ms"))
            .note(note),
        );
        figures.push(
            Figure::new(
                4,
                format!("load.c{n}.arrival_to_desks_p99_ms"),
                format!("{n} desks: intake → every desk in scope pulled it, p99"),
                a99,
                "ms",
            )
            .reference(ref_arrival_p99, "ms", "1 desk, p99")
            .note(format!("p50 {a50:.1} ms; {} deliveries", r.arrival_ms.len())),
        );
        figures.push(
            Figure::new(
                4,
                format!("load.c{n}.server_rss_mib"),
                format!("{n} desks: server RSS, peak during the step"),
                mib(r.rss_peak_kib),
                "MiB",
            )
            .reference(mib(rss_idle), "MiB", "server idle after the logins")
            .note(format!(
                "{:.1} MiB with all streams open before any item; {:.1} MiB at server start",
                mib(r.rss_connected_kib),
                mib(rss_start)
            )),
        );
        figures.push(
            Figure::new(
                4,
                format!("load.c{n}.errors"),
                format!("{n} desks: errors (connect, stream, pull, intake)"),
                r.errors as f64,
                "errors",
            )
            .target(Target::at_most(0.0, "errors"))
            .note(r.first_errors.join("; ")),
        );
    }
    Ok(figures)
}
