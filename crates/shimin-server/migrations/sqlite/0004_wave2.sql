-- Wave 2 (storage layer): the audit trail becomes a hash chain (R-AUD), mutation ids are
-- looked up for idempotency.
--
-- Each audit entry carries SHA-256(previous entry's hash ‖ this entry) (crates/shimin-server/
-- src/audit.rs). Entries written before this migration are sealed (their hash set, oldest
-- first) when the server opens the database: the only UPDATE the trigger below lets through
-- is setting a missing hash, with every other column unchanged.

ALTER TABLE audit_log ADD COLUMN hash TEXT;

DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN OLD.hash IS NOT NULL OR NEW.hash IS NULL
  OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.user_id IS NOT OLD.user_id
  OR NEW.username IS NOT OLD.username OR NEW.action IS NOT OLD.action OR NEW.target IS NOT OLD.target
  OR NEW.client_id IS NOT OLD.client_id OR NEW.outcome IS NOT OLD.outcome
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE INDEX mutation_results_mutation ON mutation_results (mutation_id);
