-- Login throttling: see migrations/sqlite/0005_login_throttle.sql.
CREATE TABLE login_throttle (
    key           text PRIMARY KEY,
    failures      bigint NOT NULL,
    blocked_until timestamptz,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX login_throttle_updated ON login_throttle (updated_at);
