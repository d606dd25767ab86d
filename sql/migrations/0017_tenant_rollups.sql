-- The rollups built in each tenant, with the checksum of the definition they were built from
-- (sql/rollups/manifest.yaml and the rollup's file). A rollup whose definition changes is dropped and
-- rebuilt at the next start (Sources/HotpotPostgres/Rollups.swift, `sync`); one no longer listed is dropped.
CREATE TABLE hotpot_control.tenant_rollups (
    tenant_id uuid        NOT NULL REFERENCES hotpot_control.tenants (id) ON DELETE CASCADE,
    rollup    text        NOT NULL,
    checksum  text        NOT NULL,
    tables    text[]      NOT NULL,
    built_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, rollup)
);
