-- Alerts (docs/alerts.md): rules on metrics, their per-key states, and an outbox of notifications
-- committed with the state changes that cause them, delivered as signed webhooks.

-- Where notifications go: an HTTPS URL and the signing secret (shown to the tenant once, kept here to sign).
CREATE TABLE hotpot_control.alert_channels (
    tenant_id  uuid        NOT NULL REFERENCES hotpot_control.tenants (id) ON DELETE CASCADE,
    id         text        NOT NULL,
    url        text        NOT NULL,
    secret     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);

-- Rules, versioned like metrics: each save is a new version; the newest one not retired applies.
CREATE TABLE hotpot_control.alert_rules (
    tenant_id  uuid        NOT NULL REFERENCES hotpot_control.tenants (id) ON DELETE CASCADE,
    id         text        NOT NULL,
    version    integer     NOT NULL,
    definition jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz,
    PRIMARY KEY (tenant_id, id, version)
);

-- How far each rule has been evaluated: the data version (raw, rolled up) of its last evaluation, so a
-- rule is evaluated once per change of the data, by one server at a time (the row is locked).
CREATE TABLE hotpot_control.alert_evaluations (
    tenant_id        uuid        NOT NULL REFERENCES hotpot_control.tenants (id) ON DELETE CASCADE,
    rule_id          text        NOT NULL,
    data_version     bigint      NOT NULL DEFAULT -1,
    rollup_version   bigint      NOT NULL DEFAULT -1,
    evaluated_at     timestamptz,
    failing_since    timestamptz,
    last_error       text,
    PRIMARY KEY (tenant_id, rule_id)
);

-- One alert instance per rule and key ('' for unkeyed rules): ok -> pending -> firing -> resolved.
CREATE TABLE hotpot_control.alert_states (
    tenant_id     uuid        NOT NULL REFERENCES hotpot_control.tenants (id) ON DELETE CASCADE,
    rule_id       text        NOT NULL,
    key           text        NOT NULL,
    state         text        NOT NULL CHECK (state IN ('ok', 'pending', 'firing', 'resolved')),
    matches       integer     NOT NULL DEFAULT 0,   -- consecutive matching evaluations
    since         timestamptz NOT NULL DEFAULT now(),
    notified_at   timestamptz,
    value         double precision,
    data_version  bigint      NOT NULL,
    PRIMARY KEY (tenant_id, rule_id, key)
);

-- Notifications to send, written in the transaction of the state change they announce: a change is
-- announced exactly once however many servers evaluate and however often they restart.
CREATE TABLE hotpot_control.alert_outbox (
    id              bigserial   PRIMARY KEY,
    tenant_id       uuid        NOT NULL REFERENCES hotpot_control.tenants (id) ON DELETE CASCADE,
    rule_id         text        NOT NULL,
    key             text        NOT NULL,
    event           text        NOT NULL CHECK (event IN ('firing', 'resolved', 'repeat', 'error')),
    channel_id      text        NOT NULL,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    delivered_at    timestamptz,
    given_up_at     timestamptz
);
CREATE INDEX alert_outbox_due_idx ON hotpot_control.alert_outbox (next_attempt_at) WHERE delivered_at IS NULL AND given_up_at IS NULL;
CREATE INDEX alert_outbox_rule_idx ON hotpot_control.alert_outbox (tenant_id, rule_id, id);

-- Every delivery attempt, for GET /v1/alerts/{id}/deliveries.
CREATE TABLE hotpot_control.alert_attempts (
    outbox_id    bigint      NOT NULL REFERENCES hotpot_control.alert_outbox (id) ON DELETE CASCADE,
    attempt      integer     NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    status       integer,
    error        text,
    duration_ms  double precision NOT NULL,
    PRIMARY KEY (outbox_id, attempt)
);
