-- Rollups are kept after the import commits, by a rollup worker (Sources/HotpotPostgres/RollupWorker.swift).
-- `version` counts committed loads as before; the rollups are exact for the loads up to `rollup_version`.
-- Event loads committed after it are pending: `version - rollup_version` of them, the oldest committed at
-- `pending_since`. A notes, users or tags import folds what is pending before it merges (its rollup
-- hooks compare the table before and after), so the loads after `rollup_version` are all event loads.
ALTER TABLE hotpot_control.data_versions
    ADD COLUMN rollup_version      bigint NOT NULL DEFAULT 0,
    ADD COLUMN rolled_up_import_id bigint,
    ADD COLUMN rolled_up_as_of     timestamptz,
    ADD COLUMN rolled_up_at        timestamptz,
    ADD COLUMN pending_since       timestamptz,
    ADD COLUMN fold_failures       integer NOT NULL DEFAULT 0,
    ADD COLUMN fold_error          text;

-- Until now every import rolled up inside its own transaction.
UPDATE hotpot_control.data_versions
SET rollup_version = version, rolled_up_as_of = as_of, rolled_up_at = updated_at,
    rolled_up_import_id = (SELECT max(id) FROM hotpot_control.imports i
                           WHERE i.tenant_id = data_versions.tenant_id AND i.status = 'committed' AND i.kind = 'events');

-- The worker's question, "which committed event loads are not folded yet?", by data version.
CREATE INDEX imports_pending_idx ON hotpot_control.imports (tenant_id, data_version)
    WHERE status = 'committed' AND kind = 'events';
