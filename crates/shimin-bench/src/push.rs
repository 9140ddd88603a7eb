//! Part 5: push throughput. Many desks (each its own login and client id) push batches of
//! `AddNote` mutations concurrently, with the per-client sequence numbers that make a push
//! idempotent; then one batch is replayed and must come back with the stored results, applying
//! nothing twice. Reference: bare SQLite commits per second (one small insert per
//! transaction) with the server's settings (WAL, synchronous=NORMAL) on this disk — the
//! ceiling of a design that commits each mutation on its own.

use crate::load::{Session, PASSWORD};
use crate::report::{summary, Figure, Target};
use crate::server_proc::LoadServer;
use crate::wire::Api;
use anyhow::{bail, Context, Result};
use chrono::Utc;
use futures_util::future::join_all;
use shimin_domain::role::Role;
use shimin_protocol::{Change, Mutation, MutationOutcome, Op, PushRequest};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};
use std::time::Instant;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Plan {
    pub pushers: usize,
    pub batches: usize,
    pub batch_size: usize,
    pub reference_commits: usize,
}

struct Pusher {
    session: Session,
    client_id: Uuid,
    items: Vec<Uuid>,
}

#[derive(Default)]
struct Outcome {
    applied: u64,
    rejected: u64,
    errors: u64,
    first_error: Option<String>,
    batch_ms: Vec<f64>,
    last_batch: Option<(PushRequest, Vec<shimin_protocol::MutationResult>, i64)>,
}

fn batch(client_id: Uuid, items: &[Uuid], seq0: i64, size: usize) -> PushRequest {
    let mutations = (0..size)
        .map(|k| {
            let seq = seq0 + k as i64;
            Mutation {
                id: Uuid::now_v7(),
                seq,
                item_id: items[seq as usize % items.len()],
                acted_at: Utc::now(),
                op: Op::AddNote {
                    text: format!("基准测试备注 #{seq}：已电话联系申请人，材料齐全。"),
                },
            }
        })
        .collect();
    PushRequest { client_id, mutations }
}

async fn push_all(api: &Api, p: &Pusher, plan: &Plan) -> Outcome {
    let mut out = Outcome::default();
    let mut seq = 1;
    for _ in 0..plan.batches {
        let req = batch(p.client_id, &p.items, seq, plan.batch_size);
        seq += plan.batch_size as i64;
        let t = Instant::now();
        match api.push(&p.session.token, &req).await {
            Ok(resp) => {
                out.batch_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                for r in &resp.results {
                    match r.outcome {
                        MutationOutcome::Applied { .. } => out.applied += 1,
                        MutationOutcome::Rejected { .. } => out.rejected += 1,
                    }
                }
                out.last_batch = Some((req, resp.results, resp.last_seq));
            }
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert_with(|| format!("{e:#}"));
                break;
            }
        }
    }
    out
}

/// The database the server under test uses, for the bare-commit reference.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// A PostgreSQL cluster's admin URL (the reference gets a scratch database on it).
    Postgres(String),
}

impl Backend {
    fn reference_label(&self) -> &'static str {
        match self {
            Backend::Sqlite => {
                "bare SQLite single-insert transactions, WAL + synchronous=FULL (the server's durable commit)"
            }
            Backend::Postgres(_) => {
                "bare PostgreSQL single-insert transactions on the same cluster (synchronous_commit=on)"
            }
        }
    }
}

/// Commits per second of a bare single-insert transaction, with the server's durability.
async fn reference_commits(backend: &Backend, n: usize) -> Result<f64> {
    match backend {
        Backend::Sqlite => reference_commits_sqlite(n).await,
        Backend::Postgres(admin) => reference_commits_pg(admin, n).await,
    }
}

async fn reference_commits_pg(admin: &str, n: usize) -> Result<f64> {
    use sqlx::PgConnection;
    let url = shimin_server::store::postgres::create_scratch_database(admin, "benchref").await?;
    let mut conn = PgConnection::connect(&url).await?;
    sqlx::query("CREATE TABLE notes (id bigserial PRIMARY KEY, item_id text NOT NULL, note text NOT NULL, at text NOT NULL)")
        .execute(&mut conn)
        .await?;
    let t = Instant::now();
    for i in 0..n {
        let mut tx = conn.begin().await?;
        sqlx::query("INSERT INTO notes (item_id, note, at) VALUES ($1, $2, $3)")
            .bind(Uuid::now_v7().to_string())
            .bind(format!("基准测试备注 #{i}"))
            .bind(Utc::now().to_rfc3339())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    conn.close().await?;
    Ok(rate)
}

async fn reference_commits_sqlite(n: usize) -> Result<f64> {
    let dir = tempfile::tempdir()?;
    let mut conn = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(dir.path().join("ref.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full),
    )
    .await?;
    sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, item_id TEXT NOT NULL, note TEXT NOT NULL, at TEXT NOT NULL)")
        .execute(&mut conn)
        .await?;
    let t = Instant::now();
    for i in 0..n {
        let mut tx = conn.begin().await?;
        sqlx::query("INSERT INTO notes (item_id, note, at) VALUES (?, ?, ?)")
            .bind(Uuid::now_v7().to_string())
            .bind(format!("基准测试备注 #{i}"))
            .bind(Utc::now().to_rfc3339())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    conn.close().await?;
    Ok(rate)
}

pub async fn run(server: &LoadServer, plan: &Plan, backend: &Backend) -> Result<Vec<Figure>> {
    let api = Api::new(server.url())?;
    // Unit office staff of the departments (clerks, leaders, net admins) handle items.
    // Only departments have items in the demo county.
    let departments: Vec<&'static str> = shimin_server::demo::DemoCounty::new()
        .departments()
        .map(|u| u.name)
        .collect();
    let staff: Vec<(String, Option<&'static str>)> = crate::load::office_users()
        .into_iter()
        .filter(|(_, role, unit)| {
            unit.is_some_and(|u| departments.contains(&u))
                && matches!(role, Role::Clerk | Role::DeptLeader | Role::NetAdmin)
        })
        .map(|(u, _, unit)| (u, unit))
        .collect();
    let mut pushers = Vec::new();
    for i in 0..plan.pushers {
        let (username, unit) = staff[i % staff.len()].clone();
        let client_id = Uuid::new_v4();
        let token = api
            .login(&username, PASSWORD, client_id)
            .await
            .context("pusher login")?
            .token;
        let mut items = Vec::new();
        let mut cursor = 0;
        loop {
            let page = api.pull(&token, cursor, shimin_protocol::MAX_PULL_LIMIT).await?;
            items.extend(page.changes.iter().filter_map(|c| match c {
                // A note on a received complaint would claim it (and race the others): skip.
                Change::Item(r) if r.kind != shimin_domain::item::ItemKind::Complaint => Some(r.id),
                _ => None,
            }));
            let more = page.has_more && page.cursor > cursor;
            cursor = page.cursor;
            if !more {
                break;
            }
        }
        if items.is_empty() {
            bail!("pusher {username} sees no items");
        }
        pushers.push(Pusher {
            session: Session { token, unit },
            client_id,
            items,
        });
    }

    let t = Instant::now();
    let outcomes = join_all(pushers.iter().map(|p| push_all(&api, p, plan))).await;
    let secs = t.elapsed().as_secs_f64();
    let applied: u64 = outcomes.iter().map(|o| o.applied).sum();
    let rejected: u64 = outcomes.iter().map(|o| o.rejected).sum();
    let errors: u64 = outcomes.iter().map(|o| o.errors).sum();
    let first_error = outcomes
        .iter()
        .find_map(|o| o.first_error.clone())
        .unwrap_or_default();
    let batch_ms: Vec<f64> = outcomes.iter().flat_map(|o| o.batch_ms.iter().copied()).collect();
    let (b50, _, b99, _) = summary(batch_ms);

    // Idempotency: the last batch of the first pusher, sent again.
    let mut reapplied = 0u64;
    let mut replay_ms = f64::NAN;
    if let (Some(p), Some((req, results, last_seq))) = (
        pushers.first(),
        outcomes.first().and_then(|o| o.last_batch.as_ref()),
    ) {
        let t = Instant::now();
        let resp = api.push(&p.session.token, req).await.context("replay")?;
        replay_ms = t.elapsed().as_secs_f64() * 1000.0;
        reapplied = resp
            .results
            .iter()
            .zip(results)
            .filter(|(again, first)| again != first)
            .count() as u64
            + resp.results.len().abs_diff(results.len()) as u64;
        if resp.last_seq != *last_seq {
            reapplied += 1;
        }
    }
    let reference = reference_commits(backend, plan.reference_commits).await?;
    let total = (plan.pushers * plan.batches * plan.batch_size) as u64;
    Ok(vec![
        Figure::new(
            5,
            "push.mutations_per_s",
            "mutations accepted per second (AddNote, idempotent sequences)",
            applied as f64 / secs,
            "mutations/s",
        )
        .reference(reference, "commits/s", backend.reference_label())
        .target(Target::at_least(3000.0, "mutations/s"))
        .note(format!(
            "{} desks × {} batches × {} = {total} mutations in {secs:.2} s; {applied} applied",
            plan.pushers, plan.batches, plan.batch_size
        )),
        Figure::new(
            5,
            "push.batch_p99_ms",
            format!(
                "one push of {} mutations, p99 (under the concurrent load)",
                plan.batch_size
            ),
            b99,
            "ms",
        )
        .reference(b50, "ms", "p50")
        .target(Target::at_most(200.0, "ms")),
        Figure::new(
            5,
            "push.rejected",
            "mutations rejected by the rules",
            rejected as f64,
            "mutations",
        )
        .target(Target::at_most(0.0, "mutations")),
        Figure::new(5, "push.errors", "push requests failed", errors as f64, "errors")
            .target(Target::at_most(0.0, "errors"))
            .note(first_error),
        Figure::new(
            5,
            "push.replay_reapplied",
            "replayed batch: mutations applied twice or answered differently",
            reapplied as f64,
            "mutations",
        )
        .target(Target::at_most(0.0, "mutations"))
        .note(format!(
            "replay of {} mutations answered from stored results in {replay_ms:.1} ms",
            plan.batch_size
        )),
    ])
}
