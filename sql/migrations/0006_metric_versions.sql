-- Analysts' own metrics: every save is a new immutable version; retiring hides the name again (the
-- built-in of that name, if any, applies once more).
CREATE TABLE hotpot_control.metric_versions (
    tenant_id  uuid NOT NULL REFERENCES hotpot_control.tenants (id) ON DELETE CASCADE,
    name       text NOT NULL,
    version    integer NOT NULL,
    source     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz,
    PRIMARY KEY (tenant_id, name, version)
);
