-- Reveals of masked numbers (显示完整号码) not yet handed in to the server: the record of who
-- showed which field of which item when, never the value. Sent with the next sync, then
-- deleted; kept across restarts like the outbox.
CREATE TABLE pending_reveals (
    id      TEXT PRIMARY KEY NOT NULL,
    item_id TEXT NOT NULL,
    field   TEXT NOT NULL,
    at_ms   INTEGER NOT NULL
);
