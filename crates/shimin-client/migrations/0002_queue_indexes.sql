-- Queue queries that read only what they return (issue 6, part 3).
--
-- A queue is ordered by deadline (items without one last), then arrival. `due_sort` is that
-- deadline with NULL mapped to the largest integer, so one index column gives the order. A
-- plain column, written with the others by the cache's one item writer (`ItemRow`): SQLite
-- does not read a virtual generated column from an index, which would cost a row read each.
ALTER TABLE items ADD COLUMN due_sort INTEGER NOT NULL DEFAULT 9223372036854775807;
UPDATE items SET due_sort = COALESCE(due_at, 9223372036854775807);

-- Each index's trailing columns are the queue order, so a view reads its first rows in order
-- from the index and stops at the page size (no sort, no JSON in the sorter).
DROP INDEX items_unit_open;
DROP INDEX items_handler_open;
DROP INDEX items_agent_open;
DROP INDEX items_kind_open;
DROP INDEX items_open_due;
CREATE INDEX items_unit_queue ON items (unit_id, closed, due_sort, received_at);
CREATE INDEX items_handler_queue ON items (handler_id, closed, due_sort, received_at);
CREATE INDEX items_agent_queue ON items (agent_id, closed, due_sort, received_at);
CREATE INDEX items_kind_queue ON items (kind, closed, due_sort, received_at);
CREATE INDEX items_closed_queue ON items (closed, due_sort, received_at);
-- Search by matter name: the matching matters' items.
CREATE INDEX items_matter ON items (matter_id);

-- Substring search over applicant name, item number and title: a trigram index. Each value is
-- indexed with two U+0001 characters appended, so every occurrence of a one- or two-character
-- text starts some indexed trigram: a short search looks its trigrams up by prefix in
-- `items_fts_terms` (the index's vocabulary) and ORs them. Contentless (the text lives only in
-- `items`); the triggers keep it in step in the writing transaction. Case-insensitive, so it
-- finds a superset of the queue's (exact) predicate, which is re-checked on every candidate.
CREATE VIRTUAL TABLE items_fts USING fts5(
    applicant_name, number, title,
    content = '', contentless_delete = 1, tokenize = 'trigram'
);
CREATE VIRTUAL TABLE items_fts_terms USING fts5vocab(items_fts, 'row');
CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, applicant_name, number, title) VALUES (
        new.rowid, new.applicant_name || char(1, 1), new.number || char(1, 1), new.title || char(1, 1)
    );
END;
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    DELETE FROM items_fts WHERE rowid = old.rowid;
END;
CREATE TRIGGER items_fts_update AFTER UPDATE OF applicant_name, number, title ON items
WHEN old.applicant_name IS NOT new.applicant_name OR old.number IS NOT new.number
    OR old.title IS NOT new.title
BEGIN
    DELETE FROM items_fts WHERE rowid = old.rowid;
    INSERT INTO items_fts (rowid, applicant_name, number, title) VALUES (
        new.rowid, new.applicant_name || char(1, 1), new.number || char(1, 1), new.title || char(1, 1)
    );
END;
INSERT INTO items_fts (rowid, applicant_name, number, title)
    SELECT rowid, applicant_name || char(1, 1), number || char(1, 1), title || char(1, 1) FROM items;
