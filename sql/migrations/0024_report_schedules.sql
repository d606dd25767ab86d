-- Scheduled deliveries (docs/alerts.md): a dashboard's data (JSON) or one panel's CSV posted to an alert
-- channel on a cron in the tenant's zone. Each tick is taken by one server (the row is locked) and its
-- message is written to the alert outbox in the same transaction as the next tick, so it is sent once.
CREATE TABLE hotpot_control.report_schedules (
    tenant_id   uuid        NOT NULL REFERENCES hotpot_control.tenants (id) ON DELETE CASCADE,
    id          text        NOT NULL,
    definition  jsonb       NOT NULL,
    next_run_at timestamptz NOT NULL,
    last_run_at timestamptz,
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX report_schedules_due ON hotpot_control.report_schedules (next_run_at) WHERE retired_at IS NULL;

ALTER TABLE hotpot_control.alert_outbox DROP CONSTRAINT alert_outbox_event_check;
ALTER TABLE hotpot_control.alert_outbox ADD CONSTRAINT alert_outbox_event_check
    CHECK (event IN ('firing', 'resolved', 'repeat', 'error', 'report'));
