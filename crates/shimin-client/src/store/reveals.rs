//! The cache's queue of reveals (显示完整号码): a user showed a citizen's masked ID number or
//! phone in full. The record (never the value) waits here until a sync hands it in, so a reveal
//! offline is accounted for too (R-SEC, R-AUD).

use chrono::{DateTime, Utc};
use shimin_domain::identity::PersonalField;
use shimin_protocol::Reveal;
use uuid::Uuid;

use super::{ms, parse_uuid, Store};
use crate::{Error, Result};

impl Store {
    /// Records that `field` of item `item_id` was shown in full at `at`.
    pub async fn queue_reveal(&self, item_id: Uuid, field: PersonalField, at: DateTime<Utc>) -> Result<Uuid> {
        let _w = self.write.lock().await;
        let id = Uuid::new_v4();
        sqlx::query("INSERT INTO pending_reveals (id, item_id, field, at_ms) VALUES (?, ?, ?, ?)")
            .bind(id.to_string())
            .bind(item_id.to_string())
            .bind(field.code())
            .bind(ms(at))
            .execute(&self.pool)
            .await?;
        Ok(id)
    }

    /// The oldest `limit` reveals not yet handed in.
    pub async fn pending_reveals(&self, limit: usize) -> Result<Vec<Reveal>> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT id, item_id, field, at_ms FROM pending_reveals ORDER BY at_ms, id LIMIT ?",
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, item_id, field, at_ms)| {
                Ok(Reveal {
                    id: parse_uuid(&id)?,
                    item_id: parse_uuid(&item_id)?,
                    field: PersonalField::from_code(&field).ok_or_else(|| {
                        Error::Protocol(format!("unknown personal field {field:?} in the cache"))
                    })?,
                    at: DateTime::from_timestamp_millis(at_ms)
                        .ok_or_else(|| Error::Protocol(format!("bad reveal time {at_ms} in the cache")))?,
                })
            })
            .collect()
    }

    /// How many reveals wait to be handed in.
    pub async fn pending_reveal_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pending_reveals")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    /// Forgets reveals the server has settled.
    pub async fn forget_reveals(&self, ids: &[Uuid]) -> Result<()> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        for id in ids {
            sqlx::query("DELETE FROM pending_reveals WHERE id = ?")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
