-- Supervision cases answered and reviewed (督办, R-SUP, issue 11): a case waits for its unit's
-- answer (cause and correction, 原因及整改) or for a supervisor's review (close or return), each
-- stage with its own working-time clock from `stage_since` (shimin_domain::supervision). A
-- supervisor may also open a case on an item by hand (`clock` = 'manual', with its `reason`); a
-- bad rating opens its follow-up (差评回访, `clock` = 'bad_rating', on the evaluation item), which
-- the unit may appeal (申诉复核: 'appealed', then upheld or rejected by a supervisor).
-- `status` stays 'open' until the case is closed. Every step of a case is kept, append-only.
ALTER TABLE supervision_cases ADD COLUMN stage TEXT NOT NULL DEFAULT 'open'
    CHECK (stage IN ('open', 'answered', 'returned', 'appealed', 'closed'));
ALTER TABLE supervision_cases ADD COLUMN stage_since TEXT;
ALTER TABLE supervision_cases ADD COLUMN reason TEXT;
UPDATE supervision_cases SET stage = 'closed' WHERE status = 'closed';
UPDATE supervision_cases SET stage_since = recorded_at;

CREATE TABLE supervision_steps (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES supervision_cases (id),
    at         TEXT NOT NULL,
    actor_id   INTEGER REFERENCES users (id),
    actor_name TEXT NOT NULL,
    action     TEXT NOT NULL CHECK (action IN ('open', 'answer', 'return', 'close', 'appeal', 'uphold', 'reject')),
    cause      TEXT,
    correction TEXT,
    note       TEXT
);
CREATE INDEX supervision_steps_case ON supervision_steps (case_id, id);

CREATE TRIGGER supervision_steps_no_update BEFORE UPDATE ON supervision_steps
BEGIN
    SELECT RAISE(ABORT, 'supervision_steps is append-only');
END;
CREATE TRIGGER supervision_steps_no_delete BEFORE DELETE ON supervision_steps
BEGIN
    SELECT RAISE(ABORT, 'supervision_steps is append-only');
END;
