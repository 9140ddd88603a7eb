//! Reveals (显示完整号码, issue 16): desks show citizens' ID numbers and phones masked for every
//! role, and showing one in full is a deliberate act the user answers for. The desk shows the
//! value from its cache at once (offline too) and hands the record in with its next sync; here
//! each record becomes a row of `reveals` (once, by the desk's id) and an audit entry naming
//! the user, the installation, the item and the field — never the value (R-SEC, R-AUD).

use axum::extract::State;
use axum::Json;
use chrono::{Duration, Utc};
use shimin_protocol::{RevealBatch, RevealReceipt, MAX_REVEAL_BATCH};

use crate::auth::AuthUser;
use crate::store::RevealRow;
use crate::{Error, Result, SharedState};

/// How far ahead of the server's clock a time a desk recorded (a reveal, a counter event) may
/// be: a desk clock a little fast is corrected by the offset; beyond this the server records
/// its own time instead.
pub(crate) const MAX_CLOCK_AHEAD: Duration = Duration::minutes(10);

/// `POST REVEALS`: records the desk's reveals. Only users whose desks hold personal data in
/// full (unit office roles, agents) have anything to reveal; a record naming an item the server
/// does not know is settled without a row (the desk forgets it either way). Nothing in a record
/// makes the batch fail: a desk must never be stuck on a record it cannot change.
pub async fn record(
    State(state): State<SharedState>,
    user: AuthUser,
    Json(batch): Json<RevealBatch>,
) -> Result<Json<RevealReceipt>> {
    if !user.actor().holds_personal_data() {
        return Err(Error::Forbidden);
    }
    if batch.reveals.len() > MAX_REVEAL_BATCH {
        return Err(Error::invalid(
            "reveals",
            format!("一次最多提交{MAX_REVEAL_BATCH}条"),
        ));
    }
    let now = Utc::now();
    let mut tx = state.store.write().await?;
    let mut recorded = 0;
    for r in &batch.reveals {
        let Some(item) = tx.item(r.item_id).await? else {
            continue;
        };
        // A time the server's clock has not reached is not recorded as such (a desk clock far
        // ahead before its offset was known): the record is kept, at the time it arrived.
        let (revealed_at, clock) = if r.at > now + MAX_CLOCK_AHEAD {
            (now, ", desk clock ahead")
        } else {
            (r.at, "")
        };
        let row = RevealRow {
            id: r.id,
            item_id: r.item_id,
            user_id: user.id,
            client_id: user.client_id.clone(),
            field: r.field,
            revealed_at,
            recorded_at: now,
        };
        if tx.record_reveal(&row).await? {
            recorded += 1;
            let outcome = format!("{} shown {}{clock}", r.field.code(), revealed_at.to_rfc3339());
            tx.audit(user.audit_entry("personal.reveal", Some(&item.number), &outcome));
        }
    }
    tx.commit().await?;
    Ok(Json(RevealReceipt { recorded }))
}
