-- Early warnings (预警) and supervision cases (督办), measures §13, §29–§30.
--
-- The supervision task records, for each statutory clock of an open item, every warning point
-- it passes and the overdue point once (clock_alerts, keyed by the clock's identity, so a restart
-- or a second run records nothing twice), and a supervision case when the deadline is missed.
-- items.next_alert_at is the next instant the item needs looking at (NULL: nothing pending),
-- so a tick reads only the items that are due.

ALTER TABLE items ADD COLUMN overdue INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN supervision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN next_alert_at TEXT;
-- Items stored before this migration are planned on the first tick.
UPDATE items SET next_alert_at = received_at WHERE due_at IS NOT NULL;
CREATE INDEX items_next_alert ON items (next_alert_at) WHERE next_alert_at IS NOT NULL;

CREATE TABLE clock_alerts (
    item_id     TEXT NOT NULL REFERENCES items (id),
    -- '<clock kind>@<clock start>': one statutory clock of the item.
    clock_key   TEXT NOT NULL,
    -- 'warning:<index into the rule's warning points>' or 'overdue'.
    point       TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (item_id, clock_key, point)
);

CREATE TABLE supervision_cases (
    id          INTEGER PRIMARY KEY,
    item_id     TEXT NOT NULL REFERENCES items (id),
    unit_id     INTEGER NOT NULL REFERENCES units (id),
    clock       TEXT NOT NULL,
    clock_start TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    UNIQUE (item_id, clock, clock_start)
);
CREATE INDEX supervision_cases_unit ON supervision_cases (unit_id, recorded_at);

CREATE TRIGGER clock_alerts_no_delete BEFORE DELETE ON clock_alerts
BEGIN
    SELECT RAISE(ABORT, 'clock_alerts is append-only');
END;
