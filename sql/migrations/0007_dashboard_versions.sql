-- Analysts' own dashboards, versioned like metrics. A tenant dashboard with a built-in's id replaces it
-- for that tenant only.
CREATE TABLE hotpot_control.dashboard_versions (
    tenant_id  uuid NOT NULL REFERENCES hotpot_control.tenants (id) ON DELETE CASCADE,
    id         text NOT NULL,
    version    integer NOT NULL,
    source     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz,
    PRIMARY KEY (tenant_id, id, version)
);
