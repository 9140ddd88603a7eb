-- Reveals (显示完整号码, issue 16): a user showed a citizen's masked ID number or phone in
-- full. The desk records it with an id of its own and hands it in with its next sync (offline
-- too); the id makes a resent record count once. Each new row has its audit entry.
CREATE TABLE reveals (
    id          TEXT PRIMARY KEY,
    item_id     TEXT NOT NULL REFERENCES items (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    client_id   TEXT NOT NULL,
    field       TEXT NOT NULL,
    revealed_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX reveals_item ON reveals (item_id);
