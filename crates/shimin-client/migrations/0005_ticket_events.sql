-- Counter events (叫号, 开始办理, 挂起, 办结, …) not yet handed in to the server: each step of a
-- hall ticket with its time (no personal data). Sent with the next sync, then deleted; kept
-- across restarts like the outbox, so a counter day offline is reported too.
CREATE TABLE pending_ticket_events (
    id        TEXT PRIMARY KEY NOT NULL,
    body      TEXT NOT NULL,
    at_ms     INTEGER NOT NULL
);
