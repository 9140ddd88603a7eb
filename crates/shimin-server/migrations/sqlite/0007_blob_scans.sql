-- The virus check of completed uploads (§21.6, issue 15). A blob without a row was stored while
-- no scanner was configured. `pending`: not checked yet (the scanner was down): readable by its
-- uploader only. `infected`: the file is quarantined and no mutation may refer to it.
CREATE TABLE blob_scans (
    hash       TEXT PRIMARY KEY REFERENCES blobs (hash),
    status     TEXT NOT NULL CHECK (status IN ('pending', 'clean', 'infected')),
    signature  TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
CREATE INDEX blob_scans_pending ON blob_scans (updated_at) WHERE status = 'pending';
