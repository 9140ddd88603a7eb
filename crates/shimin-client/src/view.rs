//! Optimistic application of ops to item records: the pure half of the rebase.
//!
//! The view of an item is its confirmed server record with the item's still-pending outbox
//! ops replayed on top, in sequence order, through the same `shimin_domain::item::decide` the
//! server uses. An op the rules refuse on the current record is skipped in the view (it stays
//! in the outbox; the server will reject it and the clerk gets a notice).

use crate::{Error, Result};
use chrono::{DateTime, Utc};
use shimin_domain::item::{decide, ItemFacts, ItemKind};
use shimin_domain::role::{Actor, Role};
use shimin_protocol::{ItemEvent, ItemRecord, Op};

/// Who did an op (as stored with it in the outbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpActor {
    pub user_id: i64,
    pub role: Role,
    pub unit_id: Option<i64>,
    pub name: String,
}

impl OpActor {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user_id,
            role: self.role,
            unit_id: self.unit_id,
        }
    }
}

/// The rule-level facts of a record.
pub fn facts(rec: &ItemRecord) -> ItemFacts {
    ItemFacts {
        kind: rec.kind,
        status: rec.status,
        unit_id: rec.unit_id,
        agent_id: rec.agent_id,
        handler_id: rec.handler_id,
    }
}

/// Applies `op` by `who` at `at` to `rec`, as the server would; `Err` when the payload is
/// invalid or the rules refuse (then `rec` is unchanged).
pub fn apply_op(rec: &mut ItemRecord, op: &Op, who: &OpActor, at: DateTime<Utc>) -> Result<()> {
    let command = op.validate()?;
    let out = decide(&facts(rec), &who.actor(), command)?;
    rec.status = out.status;
    rec.handler_id = out.handler_id;
    rec.unit_id = out.unit_id;
    op.apply_details(&mut rec.details);
    rec.events.push(ItemEvent {
        at,
        actor_id: Some(who.user_id),
        actor_name: who.name.clone(),
        action: command.code().to_owned(),
        status: rec.status,
        note: op.history_note(),
        place: op.place(),
    });
    Ok(())
}

/// Prefix of the number a delegated case shows until the server numbers it.
pub const LOCAL_NUMBER_PREFIX: &str = "DB-待同步-";

/// The record of a delegated case `who` registers with `op` (an [`Op::RegisterCase`]) before
/// the server has it: version 0, a local number, the registration in its history. The server
/// builds the same from the same op (`shimin-server` `sync::register_case`).
pub fn registered_case(
    id: uuid::Uuid,
    matter: &shimin_protocol::Matter,
    op: &Op,
    who: &OpActor,
    at: DateTime<Utc>,
) -> Result<ItemRecord> {
    let Op::RegisterCase {
        applicant,
        content,
        place,
        ..
    } = op
    else {
        return Err(Error::Protocol("not a case registration".into()));
    };
    let status = ItemKind::DelegatedCase.initial_status();
    Ok(ItemRecord {
        id,
        number: format!("{LOCAL_NUMBER_PREFIX}{}", &id.simple().to_string()[24..]),
        kind: ItemKind::DelegatedCase,
        status,
        unit_id: matter.unit_id,
        matter_id: Some(matter.id),
        agent_id: Some(who.user_id),
        handler_id: None,
        applicant: applicant.clone(),
        title: format!("代办：{}", matter.name),
        content: content.clone(),
        received_at: at,
        due_at: None,
        due_provisional: false,
        overdue: false,
        supervision: false,
        details: Default::default(),
        version: 0,
        events: vec![ItemEvent {
            at,
            actor_id: Some(who.user_id),
            actor_name: who.name.clone(),
            action: shimin_domain::item::REGISTER_CASE.to_owned(),
            status,
            note: None,
            place: Some(place.clone()),
        }],
    })
}

/// One pending op for a rebase.
#[derive(Debug, Clone)]
pub struct PendingOp {
    pub seq: i64,
    pub op: Op,
    pub actor: OpActor,
    pub acted_at: DateTime<Utc>,
}

/// The view: `server` with `ops` replayed in order; refused ops are skipped.
pub fn rebase(server: &ItemRecord, ops: &[PendingOp]) -> ItemRecord {
    let mut view = server.clone();
    for p in ops {
        if let Err(e) = apply_op(&mut view, &p.op, &p.actor, p.acted_at) {
            tracing::debug!(
                seq = p.seq,
                code = e.code(),
                "pending op no longer applies to the server record"
            );
        }
    }
    view
}

/// Whether the record's status is a closed one.
pub fn is_closed(rec: &ItemRecord) -> bool {
    rec.status.is_closed()
}

/// The `type` tag of an op on the wire (`claim`, `add_note`, …).
pub fn op_type(op: &Op) -> String {
    match serde_json::to_value(op) {
        Ok(serde_json::Value::Object(m)) => m
            .get("type")
            .and_then(|v| v.as_str())
            .unwrap_or("unknown")
            .to_owned(),
        _ => "unknown".to_owned(),
    }
}
