//! Read-only views of a whole store, for tests, benchmarks and operators' checks: the
//! documented seam through which nothing outside the storage layer needs SQL. Built on the
//! same table export `migrate` and `verify` use, so they work the same on every backend.
//! Whole tables are read: meant for test- and demo-sized data, not for request paths.

use shimin_protocol::ItemEvent;
use uuid::Uuid;

use crate::store::dump::{self, Rows, Table};
use crate::store::{MatterRow, SiteRow, Store, StoredItem, UnitRow};
use crate::Result;

macro_rules! table_reader {
    ($(#[$doc:meta])* $name:ident, $table:expr, $variant:ident, $row:ty) => {
        $(#[$doc])*
        pub async fn $name(store: &Store) -> Result<Vec<$row>> {
            let mut out = Vec::new();
            store
                .export_each($table, |rows| {
                    if let Rows::$variant(v) = rows {
                        out.extend(v);
                    }
                    Ok(())
                })
                .await?;
            Ok(out)
        }
    };
}

table_reader!(
    /// Every item (without histories), in id order.
    items, Table::Items, Items, StoredItem);
table_reader!(
    /// Every history entry, oldest first.
    events, Table::ItemEvents, ItemEvents, dump::EventDump);
table_reader!(
    /// Every account.
    users, Table::Users, Users, dump::UserDump);
table_reader!(
    /// Every unit.
    units, Table::Units, Units, UnitRow);
table_reader!(
    /// Every site.
    sites, Table::Sites, Sites, SiteRow);
table_reader!(
    /// Every matter.
    matters, Table::Matters, Matters, MatterRow);
table_reader!(
    /// The audit trail, oldest first.
    audit, Table::AuditLog, AuditLog, dump::AuditDump);
table_reader!(
    /// Every session (token hashes only: the server never stores a token).
    sessions, Table::Sessions, Sessions, dump::SessionDump);
table_reader!(
    /// Every supervision case (督办).
    supervision_cases, Table::SupervisionCases, SupervisionCases, dump::SupervisionCaseDump);
table_reader!(
    /// Every step of every supervision case.
    supervision_steps, Table::SupervisionSteps, SupervisionSteps, crate::store::CaseStepRow);
table_reader!(
    /// Every blob the server holds.
    blobs, Table::Blobs, Blobs, dump::BlobDump);
table_reader!(
    /// Every client installation and its push sequence.
    clients, Table::Clients, Clients, dump::ClientDump);
table_reader!(
    /// Every remembered push result.
    mutation_results, Table::MutationResults, MutationResults, dump::ResultDump);
table_reader!(
    /// Every user's uploads.
    uploads, Table::BlobUploads, BlobUploads, dump::UploadDump);
table_reader!(
    /// Which items refer to which blobs: (item, hash).
    attachments, Table::ItemAttachments, ItemAttachments, (Uuid, String));
table_reader!(
    /// Every blob's virus check.
    blob_scans, Table::BlobScans, BlobScans, crate::store::ScanRow);
table_reader!(
    /// Every reveal of a masked number (显示完整号码).
    reveals, Table::Reveals, Reveals, crate::store::RevealRow);
table_reader!(
    /// Every counter event (窗口叫号).
    ticket_events, Table::TicketEvents, TicketEvents, crate::store::TicketEventRow);

/// One item's history, oldest first.
pub async fn history(store: &Store, item: Uuid) -> Result<Vec<ItemEvent>> {
    let mut reader = store.reader().await?;
    Ok(reader.events(&[item]).await?.remove(&item).unwrap_or_default())
}

/// One item as stored.
pub async fn item(store: &Store, id: Uuid) -> Result<Option<StoredItem>> {
    store.reader().await?.item(id).await
}

/// A unit's id by its exact name.
pub async fn unit_id(store: &Store, name: &str) -> Result<Option<i64>> {
    store.reader().await?.find_unit(name).await
}

/// An account's id by its user name.
pub async fn user_id(store: &Store, username: &str) -> Result<Option<i64>> {
    store.reader().await?.user_id(username).await
}

/// The newest committed change sequence number.
pub async fn current_seq(store: &Store) -> Result<i64> {
    store.reader().await?.current_seq().await
}
