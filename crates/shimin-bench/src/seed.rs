//! Bulk seeding of work items straight into the server's tables (crates/shimin-server/
//! migrations/0001_init.sql), through the server's single writer connection, in one
//! transaction: a realistic mix of kinds, states, handlers, deadlines and citizens, each item
//! with its history, under fresh change-sequence numbers — what a pull then serves exactly as
//! it serves items that came through intake.

use anyhow::{ensure, Context, Result};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shimin_domain::calendar::to_local;
use shimin_domain::item::{ItemKind, Status};
use shimin_protocol::{ItemDetails, Slot};
use shimin_server::db::ts;
use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use std::collections::HashMap;
use uuid::Uuid;

/// Rows per multi-row INSERT (18 parameters each, well under SQLite's variable limit).
const CHUNK: usize = 400;

/// Who and what the seeded items belong to.
#[derive(Debug, Clone)]
pub struct SeedSpec {
    pub unit_id: i64,
    pub items: usize,
    /// Gets ~15 % of the items as handler ("mine" queue of the benchmark clerk).
    pub mine_user_id: i64,
    pub seed: u64,
}

/// What was stored.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub secs: f64,
    /// An applicant name and an item number that exist (for the search queries).
    pub sample_name: String,
    pub sample_number: String,
}

struct Row {
    id: String,
    number: String,
    kind: &'static str,
    status: &'static str,
    matter_id: i64,
    handler_id: Option<i64>,
    name: String,
    id_number: String,
    phone: String,
    title: String,
    content: String,
    received_at: DateTime<Utc>,
    due_at: Option<DateTime<Utc>>,
    details: String,
    version: i64,
    /// (at, actor id, actor name, action, status) after `created`.
    handled: Option<(DateTime<Utc>, i64, String, &'static str)>,
}

const CONTENT: [&str; 4] = [
    "您好，我想咨询办理这个事项需要准备哪些材料，复印件需要几份？能否委托家人代办？",
    "网上预约，请按时到窗口办理。如需改期请提前一个工作日在市民网上取消预约。",
    "已按办事指南提交申请材料，请审核。联系电话同申请人电话，工作日白天均可接听。",
    "上午到窗口排队时间较长，希望增加窗口人员，并一次性告知需要补正的全部材料。",
];

/// Seeds `spec.items` items into `spec.unit_id` through the writer pool.
pub async fn seed_items(writer: &SqlitePool, spec: &SeedSpec) -> Result<Seeded> {
    let started = std::time::Instant::now();
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let mut tx = writer.begin().await?;
    let matters: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM matters WHERE unit_id = ? ORDER BY id")
            .bind(spec.unit_id)
            .fetch_all(&mut *tx)
            .await?;
    ensure!(
        !matters.is_empty(),
        "unit {} has no matters to seed items for",
        spec.unit_id
    );
    let staff: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, display_name FROM users WHERE unit_id = ? AND role IN ('clerk', 'dept_leader', 'net_admin') ORDER BY id",
    )
    .bind(spec.unit_id)
    .fetch_all(&mut *tx)
    .await?;
    ensure!(!staff.is_empty(), "unit {} has no staff", spec.unit_id);
    let mine_name = staff
        .iter()
        .find(|s| s.0 == spec.mine_user_id)
        .map(|s| s.1.clone())
        .unwrap_or_default();
    let mut counters: HashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("SELECT prefix_day, last FROM item_counters")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    // Take the whole block of sequence numbers at once (the write lock is ours from here on).
    let n = spec.items as i64;
    let last: i64 =
        sqlx::query_scalar("UPDATE change_seq SET value = value + ? WHERE id = 1 RETURNING value")
            .bind(n)
            .fetch_one(&mut *tx)
            .await?;
    let first = last - n + 1;

    let kinds = [
        (ItemKind::Reservation, 30u32),
        (ItemKind::Consultation, 16),
        (ItemKind::Application, 26),
        (ItemKind::Complaint, 10),
    ];
    let total: u32 = kinds.iter().map(|k| k.1).sum();
    let now = Utc::now();
    let mut rows = Vec::with_capacity(spec.items);
    for i in 0..spec.items {
        let mut pick = rng.gen_range(0..total);
        let kind = kinds
            .iter()
            .find(|(_, w)| {
                if pick < *w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .map(|k| k.0)
            .unwrap_or(ItemKind::Reservation);
        let valid: Vec<Status> = Status::ALL.into_iter().filter(|s| s.valid_for(kind)).collect();
        let open: Vec<Status> = valid.iter().copied().filter(|s| !s.is_closed()).collect();
        let closed: Vec<Status> = valid.iter().copied().filter(|s| s.is_closed()).collect();
        // About 60 % of a unit's items are still open.
        let status = if closed.is_empty() || (rng.gen_bool(0.6) && !open.is_empty()) {
            open[rng.gen_range(0..open.len())]
        } else {
            closed[rng.gen_range(0..closed.len())]
        };
        let (matter_id, matter_name) = &matters[rng.gen_range(0..matters.len())];
        let citizen = shimin_server::demo::applicant(&mut rng);
        // Received at least a day ago: numbers never collide with today's intake counter.
        let received_at = if status.is_closed() {
            now - Duration::minutes(rng.gen_range(2 * 24 * 60..120 * 24 * 60))
        } else {
            now - Duration::minutes(rng.gen_range(24 * 60..15 * 24 * 60))
        };
        let due_at = if status.is_closed() {
            Some(received_at + Duration::hours(rng.gen_range(1..120)))
        } else {
            // Spread around now: some overdue, many due within days, a few due within hours.
            Some(now + Duration::minutes(rng.gen_range(-3 * 24 * 60..10 * 24 * 60)))
        };
        let key = format!(
            "{}{}",
            kind.number_prefix(),
            to_local(received_at).format("%Y%m%d")
        );
        let counter = counters.entry(key.clone()).or_insert(0);
        *counter += 1;
        let number = format!("{key}-{:04}", *counter);
        let mut details = ItemDetails::default();
        let title = match kind {
            ItemKind::Reservation => {
                let day = to_local(received_at).date() + Duration::days(rng.gen_range(1..4));
                let start = day
                    .and_hms_opt([9, 10, 15, 16][rng.gen_range(0..4)], 0, 0)
                    .context("slot time")?;
                details.requested_slot = Some(Slot {
                    start,
                    end: start + Duration::minutes(30),
                });
                format!("预约办理：{matter_name}")
            }
            ItemKind::Consultation => format!("{matter_name}：办理需要带哪些材料"),
            ItemKind::Complaint => "窗口排队时间过长".to_owned(),
            _ => matter_name.clone(),
        };
        let handler = if status == kind.initial_status() {
            None
        } else if rng.gen_bool(0.25) {
            Some((spec.mine_user_id, mine_name.clone()))
        } else {
            Some(staff[rng.gen_range(0..staff.len())].clone())
        };
        let handled = handler.as_ref().map(|(id, name)| {
            (
                (received_at + Duration::minutes(rng.gen_range(5..600))).min(now),
                *id,
                name.clone(),
                status.code(),
            )
        });
        rows.push(Row {
            id: Uuid::from_u128(rng.gen()).to_string(),
            number,
            kind: kind.code(),
            status: status.code(),
            matter_id: *matter_id,
            handler_id: handler.map(|h| h.0),
            name: citizen.name,
            id_number: citizen.id_number,
            phone: citizen.phone,
            title,
            content: CONTENT[i % CONTENT.len()].to_owned(),
            received_at,
            due_at,
            details: serde_json::to_string(&details)?,
            version: first + i as i64,
            handled,
        });
    }

    for chunk in rows.chunks(CHUNK) {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
            "INSERT INTO items ({}) ",
            shimin_server::items::ITEM_COLUMNS
        ));
        b.push_values(chunk, |mut s, r| {
            s.push_bind(&r.id)
                .push_bind(&r.number)
                .push_bind(r.kind)
                .push_bind(r.status)
                .push_bind(spec.unit_id)
                .push_bind(r.matter_id)
                .push_bind(None::<i64>)
                .push_bind(r.handler_id)
                .push_bind(&r.name)
                .push_bind(&r.id_number)
                .push_bind(&r.phone)
                .push_bind(&r.title)
                .push_bind(&r.content)
                .push_bind(ts(r.received_at))
                .push_bind(r.due_at.map(ts))
                .push_bind(false)
                .push_bind(&r.details)
                .push_bind(r.version);
        });
        b.build().execute(&mut *tx).await?;

        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO item_events (item_id, at, actor_id, actor_name, action, status, note, seq) ",
        );
        let events = chunk.iter().flat_map(|r| {
            let created = (
                r.id.as_str(),
                r.received_at,
                None,
                shimin_server::intake::PORTAL_ACTOR_NAME.to_owned(),
                "created",
                r.kind,
                r.version,
            );
            let handled = r.handled.as_ref().map(|(at, uid, name, status)| {
                (
                    r.id.as_str(),
                    *at,
                    Some(*uid),
                    name.clone(),
                    "claim",
                    *status,
                    r.version,
                )
            });
            std::iter::once(created).chain(handled)
        });
        b.push_values(
            events,
            |mut s, (item, at, actor, name, action, status_or_kind, seq)| {
                // The `created` event records the initial status of the kind.
                let status = if action == "created" {
                    ItemKind::from_code(status_or_kind)
                        .map(|k| k.initial_status().code())
                        .unwrap_or("received")
                } else {
                    status_or_kind
                };
                s.push_bind(item.to_owned())
                    .push_bind(ts(at))
                    .push_bind(actor)
                    .push_bind(name)
                    .push_bind(action)
                    .push_bind(status)
                    .push_bind(None::<String>)
                    .push_bind(seq);
            },
        );
        b.build().execute(&mut *tx).await?;
    }
    for (key, last) in &counters {
        sqlx::query(
            "INSERT INTO item_counters (prefix_day, last) VALUES (?, ?)
             ON CONFLICT (prefix_day) DO UPDATE SET last = max(last, excluded.last)",
        )
        .bind(key)
        .bind(last)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let sample = &rows[rows.len() / 2];
    Ok(Seeded {
        secs: started.elapsed().as_secs_f64(),
        sample_name: sample.name.clone(),
        sample_number: sample.number.clone(),
    })
}
