-- Counter events: see migrations/sqlite/0008_ticket_events.sql.
CREATE TABLE ticket_events (
    id          uuid PRIMARY KEY,
    client_id   text NOT NULL,
    user_id     bigint NOT NULL REFERENCES users (id),
    unit_id     bigint NOT NULL REFERENCES units (id),
    day         date NOT NULL,
    ticket_no   text NOT NULL,
    step        text NOT NULL CHECK (step IN ('called', 'recalled', 'started', 'suspended', 'resumed',
                                              'finished', 'no_show', 'transferred')),
    at          timestamptz NOT NULL,
    issued_at   timestamptz NOT NULL,
    item_id     uuid,
    window_no   integer,
    to_window   integer,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX ticket_events_day_unit ON ticket_events (day, unit_id);
