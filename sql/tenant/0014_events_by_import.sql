-- The rollup worker folds a committed load by reading its events back: events by the import that
-- stored them.
CREATE INDEX events_import_idx ON events (import_id);
