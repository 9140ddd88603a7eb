-- Delegated cases (代办, R-DEL): where each step of the custody chain happened, and the
-- attachments' blobs (content-addressed, uploaded in chunks, resumable).

ALTER TABLE item_events ADD COLUMN place TEXT;

-- A blob the server holds complete and verified (SHA-256 of the content = hash). The bytes live
-- in the blob store (`blobs.rs`), not in the database.
CREATE TABLE blobs (
    hash       TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    mime       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Uploads per user: what a user has sent of a blob so far (received bytes), and whether it
-- is complete. A user may refer to a blob in a case only once the own upload is complete, so
-- knowing a hash never gives access to a file someone else uploaded; and the upload state a
-- user sees is only the own, so the server never tells whether others hold a file.
CREATE TABLE blob_uploads (
    user_id      INTEGER NOT NULL REFERENCES users (id),
    hash         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    mime         TEXT NOT NULL,
    received     INTEGER NOT NULL DEFAULT 0,
    complete     INTEGER NOT NULL DEFAULT 0,
    started_at   TEXT NOT NULL,
    completed_at TEXT,
    PRIMARY KEY (user_id, hash)
);

-- Which items refer to which blobs: who may read a blob follows from who may read the item.
CREATE TABLE item_attachments (
    item_id TEXT NOT NULL REFERENCES items (id),
    hash    TEXT NOT NULL REFERENCES blobs (hash),
    PRIMARY KEY (item_id, hash)
);
CREATE INDEX item_attachments_hash ON item_attachments (hash);
