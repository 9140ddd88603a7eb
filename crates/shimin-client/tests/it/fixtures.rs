//! Hand-made records and a fresh cache per test.

use shimin_domain::item::ItemKind;
use shimin_domain::role::Role;

use chrono::{DateTime, Duration, TimeZone, Utc};
use shimin_client::view::OpActor;
use shimin_client::{CacheKey, Store};
use shimin_protocol::{Applicant, Change, ItemDetails, ItemRecord, Matter, PullResponse};
use uuid::Uuid;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

pub fn key() -> CacheKey {
    CacheKey::from_bytes([7u8; 32])
}

pub async fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("cache.db"), &key()).await.unwrap();
    (dir, store)
}

pub fn uid(n: u32) -> Uuid {
    Uuid::from_u128(0x5000_0000_0000_0000_0000_0000_0000_0000 + u128::from(n))
}

pub fn item(n: u32, kind: &str, unit_id: i64) -> ItemRecord {
    let kind = ItemKind::from_code(kind).expect("a kind code");
    ItemRecord {
        id: uid(n),
        number: format!("YY20260302-{n:04}"),
        kind,
        status: kind.initial_status(),
        unit_id,
        matter_id: Some(1),
        agent_id: None,
        handler_id: None,
        applicant: Applicant {
            name: format!("申请人{n}"),
            id_number: format!("1304231990010{n:05}"),
            phone: format!("139{n:08}"),
        },
        title: format!("事项标题{n}"),
        content: "内容".to_owned(),
        received_at: t0() + Duration::minutes(i64::from(n)),
        due_at: Some(t0() + Duration::hours(1) + Duration::minutes(i64::from(n))),
        due_provisional: false,
        overdue: false,
        supervision: false,
        details: ItemDetails::default(),
        version: i64::from(n),
        events: Vec::new(),
    }
}

pub fn matter(id: i64, name: &str, unit_id: i64) -> Matter {
    Matter {
        id,
        code: format!("M-{id:03}"),
        name: name.to_owned(),
        unit_id,
        promised_days: 5,
        materials: vec!["身份证".to_owned()],
        fee_fen: 0,
        a_clerk_id: None,
        b_clerk_id: None,
    }
}

pub fn page(changes: Vec<Change>, cursor: i64, has_more: bool) -> PullResponse {
    PullResponse {
        changes,
        cursor,
        has_more,
        server_time: t0(),
        epoch: None,
    }
}

pub fn items_page(items: Vec<ItemRecord>, cursor: i64, has_more: bool) -> PullResponse {
    page(
        items.into_iter().map(|i| Change::Item(Box::new(i))).collect(),
        cursor,
        has_more,
    )
}

pub fn clerk(id: i64, unit: i64) -> OpActor {
    OpActor {
        user_id: id,
        role: Role::Clerk,
        unit_id: Some(unit),
        name: format!("窗口{id}"),
    }
}
