-- Statistics: see migrations/sqlite/0009_stats.sql.
CREATE TABLE stat_clocks (
    item_id    uuid NOT NULL REFERENCES items (id),
    ordinal    integer NOT NULL,
    clock      text NOT NULL,
    dimension  text NOT NULL,
    unit_id    bigint NOT NULL,
    person_id  bigint,
    day        date NOT NULL,
    started_at timestamptz NOT NULL,
    due_at     timestamptz,
    met_at     timestamptz,
    in_time    boolean,
    used_secs  bigint,
    PRIMARY KEY (item_id, ordinal)
);
CREATE INDEX stat_clocks_day ON stat_clocks (day, unit_id);

CREATE TABLE stat_ratings (
    item_id   uuid PRIMARY KEY REFERENCES items (id),
    rated_id  uuid NOT NULL,
    unit_id   bigint NOT NULL,
    person_id bigint,
    day       date NOT NULL,
    rating    integer NOT NULL CHECK (rating BETWEEN 1 AND 5),
    excluded  boolean NOT NULL DEFAULT false
);
CREATE INDEX stat_ratings_day ON stat_ratings (day, unit_id);
