//! Bulk seeding of work items through the server's storage layer (`Writes::insert_items`, one
//! transaction, multi-row statements): a realistic mix of kinds, states, handlers, deadlines
//! and citizens, each item with its history, under fresh change-sequence numbers — what a pull
//! then serves exactly as it serves items that came through intake.

use anyhow::{ensure, Context, Result};
use chrono::{Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shimin_domain::calendar::to_local;
use shimin_domain::item::{ItemKind, Status};
use shimin_protocol::{ItemDetails, ItemEvent, Slot};
use shimin_server::inspect;
use shimin_server::store::{BulkItem, NewItem, Store};
use uuid::Uuid;

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

const CONTENT: [&str; 4] = [
    "您好，我想咨询办理这个事项需要准备哪些材料，复印件需要几份？能否委托家人代办？",
    "网上预约，请按时到窗口办理。如需改期请提前一个工作日在市民网上取消预约。",
    "已按办事指南提交申请材料，请审核。联系电话同申请人电话，工作日白天均可接听。",
    "上午到窗口排队时间较长，希望增加窗口人员，并一次性告知需要补正的全部材料。",
];

/// Seeds `spec.items` items into `spec.unit_id` through the store.
pub async fn seed_items(store: &Store, spec: &SeedSpec) -> Result<Seeded> {
    let started = std::time::Instant::now();
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let mut matters: Vec<(i64, String)> = inspect::matters(store)
        .await?
        .into_iter()
        .filter(|m| m.unit_id == spec.unit_id)
        .map(|m| (m.id, m.name))
        .collect();
    matters.sort();
    ensure!(
        !matters.is_empty(),
        "unit {} has no matters to seed items for",
        spec.unit_id
    );
    let mut staff: Vec<(i64, String)> = inspect::users(store)
        .await?
        .into_iter()
        .filter(|u| u.colleague.unit_id == Some(spec.unit_id) && u.colleague.role.is_unit_office())
        .map(|u| (u.colleague.id, u.colleague.display_name))
        .collect();
    staff.sort();
    ensure!(!staff.is_empty(), "unit {} has no staff", spec.unit_id);
    let mine_name = staff
        .iter()
        .find(|s| s.0 == spec.mine_user_id)
        .map(|s| s.1.clone())
        .unwrap_or_default();
    let kinds = [
        (ItemKind::Reservation, 30u32),
        (ItemKind::Consultation, 16),
        (ItemKind::Application, 26),
        (ItemKind::Complaint, 10),
    ];
    let total: u32 = kinds.iter().map(|k| k.1).sum();
    let now = Utc::now();
    let mut bulk = Vec::with_capacity(spec.items);
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
        let mut history = vec![ItemEvent {
            at: received_at,
            actor_id: None,
            actor_name: shimin_server::intake::PORTAL_ACTOR_NAME.to_owned(),
            action: "created".to_owned(),
            status: kind.initial_status(),
            note: None,
            place: None,
        }];
        if let Some((id, name)) = &handler {
            history.push(ItemEvent {
                at: (received_at + Duration::minutes(rng.gen_range(5..600))).min(now),
                actor_id: Some(*id),
                actor_name: name.clone(),
                action: "claim".to_owned(),
                status,
                note: None,
                place: None,
            });
        }
        bulk.push(BulkItem {
            item: NewItem {
                id: Uuid::from_u128(rng.gen()),
                kind,
                status,
                unit_id: spec.unit_id,
                matter_id: Some(*matter_id),
                agent_id: None,
                handler_id: handler.map(|h| h.0),
                applicant: citizen,
                title,
                content: CONTENT[i % CONTENT.len()].to_owned(),
                received_at,
                details,
            },
            due_at,
            history,
        });
    }
    let mut tx = store.write().await?;
    let numbers = tx.insert_items(&bulk).await?;
    tx.commit().await?;
    let sample = bulk.len() / 2;
    Ok(Seeded {
        secs: started.elapsed().as_secs_f64(),
        sample_name: bulk[sample].item.applicant.name.clone(),
        sample_number: numbers[sample].0.clone(),
    })
}
