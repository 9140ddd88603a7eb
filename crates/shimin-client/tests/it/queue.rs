//! Queue queries against a brute-force model of their semantics, and their query plans.

use crate::fixtures::*;
use chrono::{DateTime, Duration, Utc};
use shimin_client::{ItemView, QueueQuery, QueueView, Store, UserInfo};
use shimin_domain::item::Status;
use shimin_domain::role::Role;
use shimin_protocol::{Change, ItemRecord, Op};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

fn user(id: i64, unit: i64) -> UserInfo {
    UserInfo {
        id,
        username: format!("u{id}"),
        display_name: format!("窗口{id}"),
        role: Role::Clerk,
        unit_id: Some(unit),
    }
}

const NAMES: &[&str] = &[
    "王小明",
    "王芳",
    "李娜",
    "张伟",
    "刘洋",
    "陈静",
    "王伟",
    "李小龙",
    "欧阳明日",
    "Ann Lee",
];
const MATTERS: &[(i64, &str)] = &[(1, "户口迁移"), (2, "不动产登记"), (3, "婚姻登记")];

/// `n` items with random deadlines (some equal, some none), arrivals (some equal), kinds,
/// units, handlers, agents, statuses, names and matters.
fn random_items(rng: &mut Rng, n: u32) -> Vec<ItemRecord> {
    (1..=n)
        .map(|i| {
            let kind = *rng.pick(&["reservation", "consultation", "complaint"]);
            let mut r = item(i, kind, *rng.pick(&[10, 11, 12]));
            r.status = *rng.pick(&[
                Status::Received,
                Status::Received,
                Status::Received,
                Status::Answered,
                Status::Rejected,
            ]);
            r.handler_id = *rng.pick(&[None, None, Some(7), Some(8)]);
            r.agent_id = *rng.pick(&[None, None, None, Some(7), Some(9)]);
            r.due_at = if rng.below(5) == 0 {
                None
            } else {
                Some(t0() + Duration::minutes(30 * (rng.below(200) as i64 - 100)))
            };
            r.received_at = t0() - Duration::minutes(10 * rng.below(100) as i64);
            r.applicant.name = format!("{}{}", rng.pick(NAMES), if rng.below(2) == 0 { "" } else { "甲" });
            r.title = format!("{}申请{}", rng.pick(&["户籍", "房产", "婚姻"]), rng.below(50));
            r.matter_id = *rng.pick(&[None, Some(1), Some(2), Some(3), Some(4)]);
            r
        })
        .collect()
}

/// The queue semantics, spelled out over the views: filter, then order by deadline (none
/// last), arrival, cache row (insertion order here).
fn brute_force(
    all: &[(usize, ItemRecord)],
    q: &QueueQuery,
    me: Option<&UserInfo>,
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut open_only = !q.include_closed;
    let search = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let mut rows: Vec<&(usize, ItemRecord)> = all
        .iter()
        .filter(|(_, r)| match &q.view {
            QueueView::Mine => me.is_some_and(|me| r.handler_id == Some(me.id) || r.agent_id == Some(me.id)),
            QueueView::Unit => me.and_then(|m| m.unit_id) == Some(r.unit_id),
            QueueView::Kind(k) => r.kind.code() == k,
            QueueView::DueSoon(within) => {
                open_only = true;
                let until = now + Duration::from_std(*within).unwrap();
                r.due_at.is_some_and(|d| d >= now && d <= until)
            }
            QueueView::Overdue => {
                open_only = true;
                r.due_at.is_some_and(|d| d < now)
            }
            QueueView::All => true,
        })
        .collect();
    rows.retain(|(_, r)| !open_only || !shimin_client::view::is_closed(r));
    if let Some(s) = search {
        rows.retain(|(_, r)| {
            let matter = MATTERS
                .iter()
                .find(|m| Some(m.0) == r.matter_id)
                .map_or("", |m| m.1);
            r.applicant.name.contains(s)
                || r.number.to_ascii_uppercase().contains(&s.to_ascii_uppercase())
                || r.title.contains(s)
                || matter.contains(s)
        });
    }
    rows.sort_by_key(|(n, r)| (r.due_at.is_none(), r.due_at, r.received_at, *n));
    rows.iter()
        .take(q.limit as usize)
        .map(|(_, r)| r.number.clone())
        .collect()
}

async fn views_now(store: &Store, inserted: &[ItemRecord]) -> Vec<(usize, ItemRecord)> {
    let mut out = Vec::new();
    for (n, r) in inserted.iter().enumerate() {
        if let Some(v) = store.item(r.id).await.unwrap() {
            out.push((n, v.record));
        }
    }
    out
}

fn numbers(v: Vec<ItemView>) -> Vec<String> {
    v.into_iter().map(|i| i.record.number).collect()
}

#[tokio::test]
async fn queue_matches_brute_force_semantics() {
    let (_dir, store) = fresh().await;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let recs = random_items(&mut rng, 400);
    let mut changes: Vec<Change> = recs.iter().cloned().map(|r| Change::Item(Box::new(r))).collect();
    for (id, name) in MATTERS {
        changes.push(Change::Matter(matter(*id, name, 10)));
    }
    store.apply_pull(&page(changes, 1, false)).await.unwrap();

    // Later writes of every kind keep the indexes in step: optimistic ops (view columns
    // change), server updates (searchable text changes), removals.
    for r in recs.iter().step_by(7) {
        let _ = store.enqueue(r.id, &Op::Claim, &clerk(7, r.unit_id), t0()).await;
    }
    let mut updates = Vec::new();
    for r in recs.iter().skip(3).step_by(11) {
        let mut u = r.clone();
        u.applicant.name = "王小明".into();
        u.title = format!("更正{}", u.title);
        u.version += 1;
        updates.push(Change::Item(Box::new(u)));
    }
    for r in recs.iter().skip(5).step_by(13) {
        updates.push(Change::ItemRemoved { id: r.id });
    }
    store.apply_pull(&page(updates, 2, false)).await.unwrap();
    let all = views_now(&store, &recs).await;
    assert!(all.len() > 350);

    let now = t0();
    let views = [
        QueueView::Mine,
        QueueView::Unit,
        QueueView::Kind("reservation".into()),
        QueueView::Kind("complaint".into()),
        QueueView::DueSoon(std::time::Duration::from_secs(12 * 3600)),
        QueueView::Overdue,
        QueueView::All,
    ];
    let searches = [
        None,
        Some("王"),
        Some("小明"),
        Some(" 王小明 "),
        Some("王小明甲"),
        Some("yy2026"),
        Some("0012"),
        Some("不动产"),
        Some("户"),
        Some("户籍申请1"),
        Some("更正"),
        Some("ann lee"),
        Some("Ann Lee"),
        Some("nobody"),
        Some("\"x\""),
        Some(""),
    ];
    let mut checked = 0;
    for me in [Some(user(7, 10)), Some(user(8, 11)), Some(user(9, 12)), None] {
        for view in &views {
            for include_closed in [false, true] {
                for search in searches {
                    for limit in [200, 7] {
                        let q = QueueQuery {
                            view: view.clone(),
                            search: search.map(str::to_owned),
                            include_closed,
                            limit,
                        };
                        let got = numbers(store.queue(&q, me.as_ref(), now).await.unwrap());
                        let want = brute_force(&all, &q, me.as_ref(), now);
                        assert_eq!(got, want, "{q:?} for {me:?}");
                        checked += usize::from(!want.is_empty());
                    }
                }
            }
        }
    }
    assert!(checked > 500, "{checked} non-empty queues");
}

/// The views read their index in queue order: no sort, no full scan.
#[tokio::test]
async fn queue_views_use_their_indexes() {
    let (_dir, store) = fresh().await;
    let mut rng = Rng(7);
    let recs = random_items(&mut rng, 50);
    store.apply_pull(&items_page(recs, 1, false)).await.unwrap();
    let me = user(7, 10);
    let q = |view: QueueView, include_closed: bool| QueueQuery {
        include_closed,
        ..QueueQuery::new(view)
    };
    let cases = [
        (
            q(QueueView::Mine, false),
            vec!["items_handler_queue", "items_agent_queue"],
        ),
        (
            q(QueueView::Mine, true),
            vec!["items_handler_queue", "items_agent_queue"],
        ),
        (q(QueueView::Unit, false), vec!["items_unit_queue"]),
        (q(QueueView::Unit, true), vec!["items_unit_queue"]),
        (
            q(QueueView::Kind("reservation".into()), false),
            vec!["items_kind_queue"],
        ),
        (
            q(QueueView::DueSoon(std::time::Duration::from_secs(3600)), false),
            vec!["items_closed_queue"],
        ),
        (q(QueueView::Overdue, false), vec!["items_closed_queue"]),
        (q(QueueView::All, false), vec!["items_closed_queue"]),
        (q(QueueView::All, true), vec!["items_closed_queue"]),
    ];
    for (query, indexes) in cases {
        let plan = store.queue_query_plan(&query, Some(&me), t0()).await.unwrap();
        let text = plan.join(" | ");
        assert!(!text.contains("TEMP B-TREE"), "{query:?}: {text}");
        assert!(!plan.iter().any(|l| l.starts_with("SCAN")), "{query:?}: {text}");
        for index in &indexes {
            let needle = format!("USING COVERING INDEX {index} ");
            assert!(text.contains(&needle), "{query:?} should use {index}: {text}");
        }
    }
    // A search with few candidates starts from the trigram index (short texts too).
    for text in ["王小明", "王", "小明"] {
        let mut query = QueueQuery::new(QueueView::All);
        query.search = Some(text.into());
        let plan = store
            .queue_query_plan(&query, Some(&me), t0())
            .await
            .unwrap()
            .join(" | ");
        assert!(
            plan.contains("SCAN items_fts VIRTUAL TABLE INDEX"),
            "{text}: {plan}"
        );
        assert!(
            plan.contains("SEARCH i USING INTEGER PRIMARY KEY"),
            "{text}: {plan}"
        );
    }
}
