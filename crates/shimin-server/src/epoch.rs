//! The database's timeline (`PullResponse.epoch`): a random id stored once in `meta`, kept by
//! `migrate` (desks go on syncing) and replaced by `restore` (an older copy forks the
//! timeline: cursors and push sequences desks hold no longer mean anything, so they bootstrap
//! again and renumber what they have pending).

use crate::store::Store;
use crate::Result;

/// The `meta` key of the epoch.
pub const META_KEY: &str = "epoch";

/// The stored epoch; a new one if there is none.
pub async fn ensure(store: &Store) -> Result<String> {
    if let Some(e) = store.reader().await?.meta(META_KEY).await? {
        return Ok(e);
    }
    renew(store).await
}

/// Stores a new epoch (after a restore).
pub async fn renew(store: &Store) -> Result<String> {
    let epoch = uuid::Uuid::new_v4().to_string();
    let mut tx = store.write().await?;
    tx.set_meta(META_KEY, &epoch).await?;
    tx.commit().await?;
    Ok(epoch)
}
