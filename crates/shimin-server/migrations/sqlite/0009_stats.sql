-- Statistics (监督考核统计, R-STAT, issue 11): a projection of the items' histories that the
-- reports aggregate, with kinds, verdicts and ratings as columns. One row per statutory clock an
-- item ran (an application's pre-review, then its completion) and one per rating (好差评). The
-- server rewrites an item's rows whenever its history changes and the open clocks' rows when the
-- calendar changes (crate::stats::project); a met clock keeps the deadline it was judged by.
-- Derived data: not in backups or moves; rebuilt from the histories when missing
-- (crate::stats::ensure_projection).
CREATE TABLE stat_clocks (
    item_id    TEXT NOT NULL REFERENCES items (id),
    -- The clock's place among the item's clocks (0: the first).
    ordinal    INTEGER NOT NULL,
    clock      TEXT NOT NULL,
    dimension  TEXT NOT NULL,
    unit_id    INTEGER NOT NULL,
    -- Who met the duty (the actor of that history entry); while it runs, the item's handler.
    person_id  INTEGER,
    -- The local day the clock started: the period it counts in.
    day        TEXT NOT NULL,
    started_at TEXT NOT NULL,
    due_at     TEXT,
    met_at     TEXT,
    -- 1: met in time, 0: met late, NULL: running (overdue once due_at has passed).
    in_time    INTEGER,
    -- Working seconds used until met, supplement periods excluded.
    used_secs  INTEGER,
    PRIMARY KEY (item_id, ordinal)
);
CREATE INDEX stat_clocks_day ON stat_clocks (day, unit_id);

CREATE TABLE stat_ratings (
    -- The evaluation item.
    item_id   TEXT PRIMARY KEY REFERENCES items (id),
    rated_id  TEXT NOT NULL,
    unit_id   INTEGER NOT NULL,
    -- The rated item's handler.
    person_id INTEGER,
    day       TEXT NOT NULL,
    rating    INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    -- 1 once an appeal (申诉复核) was upheld: out of the figures, still on record.
    excluded  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX stat_ratings_day ON stat_ratings (day, unit_id);
