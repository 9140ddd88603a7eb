-- Login throttling (crates/shimin-domain/src/login.rs): a failure count and a wait per throttle
-- key — an account as seen from unknown installations ("acct:<name>", kept for names no
-- account has too, so the answers do not tell which names exist), or an account on one of its
-- known installations ("dev:<name>:<client id>"). Shared by every server instance on the same
-- database. Rows untouched for a day are pruned by the sweep.
CREATE TABLE login_throttle (
    key           TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL,
    blocked_until TEXT,
    updated_at    TEXT NOT NULL
);
CREATE INDEX login_throttle_updated ON login_throttle (updated_at);
