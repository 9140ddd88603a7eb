-- Attachments of delegated cases (代办材料), content-addressed by SHA-256. The bytes live in
-- this encrypted cache like every other personal datum (photos of ID cards are the most
-- personal of all). `uploaded` = the server holds them complete and verified; `refused` = the
-- server refused them (the reason), kept so nothing captured is lost.
CREATE TABLE blobs (
    hash       TEXT PRIMARY KEY NOT NULL,
    mime       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    data       BLOB NOT NULL,
    uploaded   INTEGER NOT NULL DEFAULT 0,
    refused    TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX blobs_to_upload ON blobs (uploaded) WHERE uploaded = 0;
