//! Work items on the wire: stored items with their histories, built in batches.

use shimin_protocol::ItemRecord;

use crate::store::{Reads, StoredItem};
use crate::Result;

/// Wire records for stored items, histories loaded in one query (no N+1).
pub async fn records(reads: &mut dyn Reads, items: Vec<StoredItem>, masked: bool) -> Result<Vec<ItemRecord>> {
    let ids: Vec<uuid::Uuid> = items.iter().map(|i| i.id).collect();
    let mut events = reads.events(&ids).await?;
    Ok(items
        .into_iter()
        .map(|i| {
            let ev = events.remove(&i.id).unwrap_or_default();
            i.into_record(ev, masked)
        })
        .collect())
}
