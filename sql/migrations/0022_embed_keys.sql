-- Embed keys (docs/embedding.md): a brand portal signs short-lived JWTs that open one dashboard or metric
-- of one tenant. The key id decides the tenant; claims never do. EdDSA keys hold only the portal's public
-- key; HS256 keys hold the secret Hotpot generated (shown once), which verification needs.
CREATE TABLE hotpot_control.embed_keys (
    kid           text        PRIMARY KEY,
    tenant_id     uuid        NOT NULL REFERENCES hotpot_control.tenants (id) ON DELETE CASCADE,
    algorithm     text        NOT NULL CHECK (algorithm IN ('EdDSA', 'HS256')),
    -- EdDSA: the Ed25519 public key (32 bytes); HS256: the 32-byte secret.
    key_material  bytea       NOT NULL,
    label         text,
    -- Origins that may frame /embed pages opened with this key (CSP frame-ancestors).
    frame_origins text[]      NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);

CREATE INDEX embed_keys_by_tenant ON hotpot_control.embed_keys (tenant_id) WHERE revoked_at IS NULL;
