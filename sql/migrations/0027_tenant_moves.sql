-- Online tenant moves (`hotpot tenant move`, docs/scale-out.md#moving-a-tenant).
--
-- A move copies the tenant's schema to another database with logical replication, then copies its
-- ledger, data version, rollup progress and migrations under a short pause. Ledger ids are kept (they
-- are in `GET /v1/imports/{id}` answers and on every event row), so each database draws them from a
-- range of its own: the main database from 1, the n-th shard added from n * 2^40 (set by `shard add`
-- from this sequence; 8191 shards stay below 2^53, exact in JSON).
CREATE SEQUENCE hotpot_control.shard_id_ranges START 1;

-- One row per move, on the main database: what the mover did and, for a mover that was killed, what the
-- next one (or `hotpot serve`) must undo or finish. The old copy is dropped once drop_after has passed.
CREATE TABLE hotpot_control.tenant_moves (
    id            bigserial   PRIMARY KEY,
    tenant_id     uuid        NOT NULL REFERENCES hotpot_control.tenants (id) ON DELETE CASCADE,
    from_shard    text        NOT NULL,   -- 'main' or a shard's name
    to_shard      text        NOT NULL,
    state         text        NOT NULL CHECK (state IN ('copying', 'switched', 'done', 'failed')),
    started_at    timestamptz NOT NULL DEFAULT now(),
    switched_at   timestamptz,
    drop_after    timestamptz,
    finished_at   timestamptz,
    pause_ms      double precision,
    tables        integer,
    rows_verified bigint,
    error         text
);
-- At most one unfinished move per tenant.
CREATE UNIQUE INDEX tenant_moves_open_idx ON hotpot_control.tenant_moves (tenant_id) WHERE state IN ('copying', 'switched');
