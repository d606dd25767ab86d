-- The import ledger: one row per import attempt, whatever its outcome. A committed import's row is
-- written in the same transaction as its data; rejected, failed and duplicate attempts are recorded
-- on their own afterwards.
CREATE TABLE hotpot_control.imports (
    id             bigserial PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES hotpot_control.tenants (id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('notes', 'users', 'note_tags', 'events')),
    format         text NOT NULL CHECK (format IN ('csv', 'ndjson')),
    source         text NOT NULL,
    checksum       text,                      -- SHA-256 of the decompressed content
    status         text NOT NULL CHECK (status IN ('committed', 'rejected', 'failed', 'duplicate')),
    forced         boolean NOT NULL DEFAULT false,
    rows_read      bigint NOT NULL DEFAULT 0,
    rows_loaded    bigint NOT NULL DEFAULT 0,
    rows_duplicate bigint NOT NULL DEFAULT 0,
    rows_rejected  bigint NOT NULL DEFAULT 0,
    warnings       text[] NOT NULL DEFAULT '{}',
    error          text,
    data_version   bigint,
    schedule_id    bigint,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL DEFAULT now(),
    elapsed_ms     bigint NOT NULL DEFAULT 0
);
CREATE INDEX imports_tenant_idx ON hotpot_control.imports (tenant_id, id DESC);
CREATE INDEX imports_checksum_idx ON hotpot_control.imports (tenant_id, kind, checksum) WHERE status = 'committed';

CREATE TABLE hotpot_control.import_rejects (
    import_id   bigint NOT NULL REFERENCES hotpot_control.imports (id) ON DELETE CASCADE,
    line        bigint NOT NULL,
    column_name text,
    reason      text NOT NULL,
    excerpt     text NOT NULL,
    PRIMARY KEY (import_id, line)
);
