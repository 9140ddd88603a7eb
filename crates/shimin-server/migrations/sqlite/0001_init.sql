-- Shimin Desk central server schema, version 1.
-- Migrations are never edited once landed: add a new file instead.
--
-- The change sequence: every change a desk must learn about (item, directory or catalogue row,
-- removal from a scope) takes the next value of change_seq.value inside the writing transaction.
-- SQLite serialises writers, so commit order equals sequence order and a reader never sees
-- seq N+1 committed before seq N. (PostgreSQL would need more care: a sequence hands out numbers
-- before commit, so a pull could skip a lower number committed later; there one would serialise
-- writers on the counter row, or pull only up to the oldest in-flight transaction's number.)

CREATE TABLE change_seq (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO change_seq (id, value) VALUES (1, 0);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sites (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL
);
CREATE INDEX sites_version ON sites (version);

CREATE TABLE units (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    kind    TEXT NOT NULL CHECK (kind IN ('department', 'township')),
    site_id INTEGER NOT NULL REFERENCES sites (id),
    version INTEGER NOT NULL
);
CREATE INDEX units_version ON units (version);

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    role                 TEXT NOT NULL,
    unit_id              INTEGER REFERENCES units (id),
    password_hash        TEXT NOT NULL,
    presence             TEXT NOT NULL DEFAULT 'on_duty',
    must_change_password INTEGER NOT NULL DEFAULT 1,
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         TEXT,
    disabled             INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT NOT NULL,
    version              INTEGER NOT NULL
);
CREATE INDEX users_version ON users (version);
CREATE INDEX users_unit ON users (unit_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    client_id  TEXT NOT NULL,
    device     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE clients (
    client_id  TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    last_seq   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE mutation_results (
    client_id   TEXT NOT NULL REFERENCES clients (client_id),
    seq         INTEGER NOT NULL,
    mutation_id TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    applied_at  TEXT NOT NULL,
    PRIMARY KEY (client_id, seq)
);

CREATE TABLE matters (
    id            INTEGER PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    unit_id       INTEGER NOT NULL REFERENCES units (id),
    promised_days INTEGER NOT NULL,
    materials     TEXT NOT NULL DEFAULT '[]',
    fee_fen       INTEGER NOT NULL DEFAULT 0,
    a_clerk_id    INTEGER REFERENCES users (id),
    b_clerk_id    INTEGER REFERENCES users (id),
    version       INTEGER NOT NULL
);
CREATE INDEX matters_version ON matters (version);

CREATE TABLE calendar (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    data_version INTEGER NOT NULL,
    data         TEXT NOT NULL,
    version      INTEGER NOT NULL
);

CREATE TABLE item_counters (
    prefix_day TEXT PRIMARY KEY,
    last       INTEGER NOT NULL
);

CREATE TABLE items (
    id                  TEXT PRIMARY KEY,
    number              TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL,
    status              TEXT NOT NULL,
    unit_id             INTEGER NOT NULL REFERENCES units (id),
    matter_id           INTEGER REFERENCES matters (id),
    agent_id            INTEGER REFERENCES users (id),
    handler_id          INTEGER REFERENCES users (id),
    applicant_name      TEXT NOT NULL,
    applicant_id_number TEXT NOT NULL,
    applicant_phone     TEXT NOT NULL,
    title               TEXT NOT NULL,
    content             TEXT NOT NULL,
    received_at         TEXT NOT NULL,
    due_at              TEXT,
    due_provisional     INTEGER NOT NULL DEFAULT 0,
    details             TEXT NOT NULL DEFAULT '{}',
    version             INTEGER NOT NULL UNIQUE
);
CREATE INDEX items_unit_version ON items (unit_id, version);
CREATE INDEX items_agent_version ON items (agent_id, version);

CREATE TABLE item_events (
    id         INTEGER PRIMARY KEY,
    item_id    TEXT NOT NULL REFERENCES items (id),
    at         TEXT NOT NULL,
    actor_id   INTEGER REFERENCES users (id),
    actor_name TEXT NOT NULL,
    action     TEXT NOT NULL,
    status     TEXT NOT NULL,
    note       TEXT,
    seq        INTEGER NOT NULL
);
CREATE INDEX item_events_item ON item_events (item_id, id);

-- Items leaving a scope (transfer, 转办): the old unit's desks must drop them.
CREATE TABLE removals (
    id       INTEGER PRIMARY KEY,
    item_id  TEXT NOT NULL REFERENCES items (id),
    unit_id  INTEGER,
    agent_id INTEGER,
    seq      INTEGER NOT NULL
);
CREATE INDEX removals_unit_seq ON removals (unit_id, seq);
CREATE INDEX removals_agent_seq ON removals (agent_id, seq);

-- R-AUD: the evidence inspectors rely on (§20). Append-only, enforced below.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    user_id   INTEGER,
    username  TEXT,
    action    TEXT NOT NULL,
    target    TEXT,
    client_id TEXT,
    outcome   TEXT NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER item_events_no_update BEFORE UPDATE ON item_events
BEGIN
    SELECT RAISE(ABORT, 'item_events is append-only');
END;
CREATE TRIGGER item_events_no_delete BEFORE DELETE ON item_events
BEGIN
    SELECT RAISE(ABORT, 'item_events is append-only');
END;
