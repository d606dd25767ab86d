-- Scheduled imports: a source (a local directory or an HTTP(S) URL) polled on an interval or a cron
-- expression. The row lock taken by the runner (FOR UPDATE SKIP LOCKED) guarantees one process runs
-- a schedule at a time, however many servers share the database.
CREATE TABLE hotpot_control.schedules (
    id                 bigserial PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES hotpot_control.tenants (id) ON DELETE CASCADE,
    kind               text NOT NULL CHECK (kind IN ('notes', 'users', 'note_tags', 'events')),
    format             text CHECK (format IN ('csv', 'ndjson')),   -- NULL: from each file's extension
    source             text NOT NULL,
    pattern            text NOT NULL DEFAULT '*',                   -- file-name glob for directories
    every_seconds      integer CHECK (every_seconds > 0),
    cron               text,
    max_errors         integer NOT NULL DEFAULT 1000,
    next_run_at        timestamptz NOT NULL DEFAULT now(),
    last_run_at        timestamptz,
    last_status        text,
    last_error         text,
    consecutive_failures integer NOT NULL DEFAULT 0,
    http_etag          text,
    http_last_modified text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((every_seconds IS NULL) <> (cron IS NULL))
);
CREATE INDEX schedules_due_idx ON hotpot_control.schedules (next_run_at);

-- Files a directory schedule has already taken, so unchanged files are not read again. The importer's
-- content checksum still guarantees exactly-once if the same content reappears under another name.
CREATE TABLE hotpot_control.schedule_files (
    schedule_id bigint NOT NULL REFERENCES hotpot_control.schedules (id) ON DELETE CASCADE,
    file_name   text NOT NULL,
    size        bigint NOT NULL,
    modified_at timestamptz NOT NULL,
    import_id   bigint,
    status      text NOT NULL,
    PRIMARY KEY (schedule_id, file_name, size, modified_at)
);
