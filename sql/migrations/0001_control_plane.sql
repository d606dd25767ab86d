-- The control plane: tenants, API keys and the service's own settings. Tenants' login roles are granted
-- nothing here; the schema is invisible to them.

CREATE TABLE hotpot_control.settings (
    name text PRIMARY KEY,
    value text NOT NULL
);

-- The secret tenant database passwords are derived from (HMAC of the role name). Generated once.
INSERT INTO hotpot_control.settings (name, value)
VALUES ('tenant_password_secret', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))
ON CONFLICT (name) DO NOTHING;

CREATE TABLE hotpot_control.tenants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    schema_name text NOT NULL UNIQUE,
    role_name   text NOT NULL UNIQUE,
    timezone    text NOT NULL DEFAULT 'Asia/Shanghai',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Which tenant-template migrations each tenant schema has.
CREATE TABLE hotpot_control.tenant_migrations (
    tenant_id  uuid NOT NULL REFERENCES hotpot_control.tenants (id) ON DELETE CASCADE,
    version    integer NOT NULL,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, version)
);

CREATE TABLE hotpot_control.api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid REFERENCES hotpot_control.tenants (id) ON DELETE CASCADE, -- NULL: global admin key
    role         text NOT NULL CHECK (role IN ('viewer', 'analyst', 'loader', 'admin')),
    prefix       text NOT NULL UNIQUE,
    key_hash     text NOT NULL,
    label        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz,
    CHECK (tenant_id IS NOT NULL OR role = 'admin')
);

-- Bumped by every committed import; results are cached per data version.
CREATE TABLE hotpot_control.data_versions (
    tenant_id  uuid PRIMARY KEY REFERENCES hotpot_control.tenants (id) ON DELETE CASCADE,
    version    bigint NOT NULL DEFAULT 0,
    as_of      timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
