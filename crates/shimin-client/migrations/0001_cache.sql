-- The desk's local cache (encrypted at rest by SQLCipher, page level).
-- Architecture invariant: the session token is never written here.

-- Small key/value facts: client_id, cursor, next_seq, last_sync, server_offset_ms, user, ...
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Work items. `server` is the confirmed server record (JSON of ItemRecord); `view` is what the
-- clerk sees when pending outbox ops are replayed on top of it (NULL = same as `server`).
-- The plain columns always describe the view, for queue queries and indexes.
CREATE TABLE items (
    id             TEXT PRIMARY KEY NOT NULL,
    number         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    status         TEXT NOT NULL,
    closed         INTEGER NOT NULL,
    unit_id        INTEGER NOT NULL,
    matter_id      INTEGER,
    agent_id       INTEGER,
    handler_id     INTEGER,
    applicant_name TEXT NOT NULL,
    title          TEXT NOT NULL,
    received_at    INTEGER NOT NULL, -- ms since epoch
    due_at         INTEGER,          -- ms since epoch
    version        INTEGER NOT NULL, -- server version of `server`
    pending_ops    INTEGER NOT NULL DEFAULT 0,
    server         TEXT NOT NULL,
    view           TEXT
);
CREATE INDEX items_unit_open ON items (unit_id, closed, due_at);
CREATE INDEX items_handler_open ON items (handler_id, closed, due_at);
CREATE INDEX items_agent_open ON items (agent_id, closed, due_at);
CREATE INDEX items_kind_open ON items (kind, closed, due_at);
CREATE INDEX items_open_due ON items (closed, due_at);
CREATE INDEX items_number ON items (number);

-- Durable outbox of local mutations, in per-client sequence order (seq = the wire seq).
CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY NOT NULL,
    mutation_id TEXT NOT NULL UNIQUE,
    item_id     TEXT NOT NULL,
    op_type     TEXT NOT NULL,
    op          TEXT NOT NULL,     -- JSON of Op
    acted_at    TEXT NOT NULL,     -- RFC 3339, server-corrected
    actor_id    INTEGER NOT NULL,
    actor_role  TEXT NOT NULL,
    actor_unit  INTEGER,
    actor_name  TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending', -- 'pending' | 'sent' (pushed at least once)
    created_at  TEXT NOT NULL
);
CREATE INDEX outbox_item ON outbox (item_id, seq);

-- Mutations the server refused, kept until the clerk dismisses the notice.
CREATE TABLE rejections (
    mutation_id TEXT PRIMARY KEY NOT NULL,
    item_id     TEXT NOT NULL,
    item_number TEXT NOT NULL,
    op_type     TEXT NOT NULL,
    code        TEXT NOT NULL,
    message     TEXT NOT NULL,
    at          TEXT NOT NULL,
    dismissed   INTEGER NOT NULL DEFAULT 0
);

-- Catalogue and directory, as synced.
CREATE TABLE matters (
    id      INTEGER PRIMARY KEY NOT NULL,
    unit_id INTEGER NOT NULL,
    code    TEXT NOT NULL,
    name    TEXT NOT NULL,
    data    TEXT NOT NULL
);
CREATE INDEX matters_name ON matters (name);
CREATE TABLE units (
    id   INTEGER PRIMARY KEY NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE sites (
    id   INTEGER PRIMARY KEY NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE colleagues (
    id      INTEGER PRIMARY KEY NOT NULL,
    unit_id INTEGER,
    data    TEXT NOT NULL
);
