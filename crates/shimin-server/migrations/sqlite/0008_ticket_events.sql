-- Counter events (窗口叫号, issue 13): each step of a hall ticket (called, started, suspended,
-- finished, …) as the clerk's desk recorded it, offline too, with an id of its own that makes a
-- resent event count once. Waiting and service times per ticket are computed from these
-- (shimin_domain::counter::ticket_times); nothing personal is stored.
CREATE TABLE ticket_events (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    unit_id     INTEGER NOT NULL REFERENCES units (id),
    day         TEXT NOT NULL,
    ticket_no   TEXT NOT NULL,
    step        TEXT NOT NULL CHECK (step IN ('called', 'recalled', 'started', 'suspended', 'resumed',
                                              'finished', 'no_show', 'transferred')),
    at          TEXT NOT NULL,
    issued_at   TEXT NOT NULL,
    item_id     TEXT,
    window_no   INTEGER,
    to_window   INTEGER,
    recorded_at TEXT NOT NULL
);
CREATE INDEX ticket_events_day_unit ON ticket_events (day, unit_id);
