-- Shards: further PostgreSQL databases (usually on other servers) that hold tenants' data, added with
-- `hotpot shard add` (docs/scale-out.md). Every shard is migrated like this database, so its own
-- hotpot_control holds what a tenant's import commits with its rows: the ledger, the data version, the
-- rollup progress and the tenant's migrations, beside a copy of the tenant's row.
--
-- tenants.shard says where a tenant's data is: NULL means here. On the main database it names the
-- shard of every tenant placed elsewhere; on a shard, a tenant's row has NULL while the shard holds
-- the tenant, and the new shard's name once the tenant has moved away (so a writer that still routes
-- to the old place finds out under its lock, and commits nothing there).
CREATE TABLE hotpot_control.shards (
    name       text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9-]{0,39}$' AND name <> 'main'),
    url        text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE hotpot_control.tenants ADD COLUMN shard text;
CREATE INDEX tenants_shard_idx ON hotpot_control.tenants (shard);
