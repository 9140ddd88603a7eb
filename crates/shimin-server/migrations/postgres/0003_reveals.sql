-- Reveals: see migrations/sqlite/0006_reveals.sql.
CREATE TABLE reveals (
    id          uuid PRIMARY KEY,
    item_id     uuid NOT NULL REFERENCES items (id),
    user_id     bigint NOT NULL REFERENCES users (id),
    client_id   text NOT NULL,
    field       text NOT NULL,
    revealed_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX reveals_item ON reveals (item_id);
