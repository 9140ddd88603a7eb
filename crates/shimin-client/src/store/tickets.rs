//! The cache's queue of counter events (窗口叫号): each step of a hall ticket waits here until
//! a sync hands it in, so the waiting and service times of a counter day offline reach the
//! server's reports too (R-CTR). Stored as the wire event (JSON): it holds no personal data.

use shimin_protocol::TicketEvent;
use uuid::Uuid;

use super::{ms, Store};
use crate::Result;

impl Store {
    /// Queues a counter event for the server.
    pub async fn queue_ticket_event(&self, event: &TicketEvent) -> Result<()> {
        let _w = self.write.lock().await;
        sqlx::query("INSERT OR IGNORE INTO pending_ticket_events (id, body, at_ms) VALUES (?, ?, ?)")
            .bind(event.id.to_string())
            .bind(serde_json::to_string(event)?)
            .bind(ms(event.at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The oldest `limit` counter events not yet handed in.
    pub async fn pending_ticket_events(&self, limit: usize) -> Result<Vec<TicketEvent>> {
        let bodies: Vec<String> =
            sqlx::query_scalar("SELECT body FROM pending_ticket_events ORDER BY at_ms, id LIMIT ?")
                .bind(limit as i64)
                .fetch_all(&self.pool)
                .await?;
        bodies.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
    }

    /// How many counter events wait to be handed in.
    pub async fn pending_ticket_event_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pending_ticket_events")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    /// Forgets counter events the server has settled.
    pub async fn forget_ticket_events(&self, ids: &[Uuid]) -> Result<()> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        for id in ids {
            sqlx::query("DELETE FROM pending_ticket_events WHERE id = ?")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
