-- Read replicas (docs/scale-out.md): streaming replicas of the main database or of a shard, registered
-- with `hotpot shard add-replica`. Metric and dashboard queries may run on one only when it has replayed
-- the data version they answer for.
CREATE TABLE hotpot_control.replicas (
    id         bigserial PRIMARY KEY,
    shard      text NOT NULL,   -- 'main' or a shard's name
    url        text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (shard, url)
);

-- The WAL position of each change of a data version, recorded by the change itself (a trigger, so no
-- writer can forget): a replica whose replay position is at least this far can hold the version, and
-- the query then confirms it in its own snapshot.
ALTER TABLE hotpot_control.data_versions ADD COLUMN wal_lsn pg_lsn;

CREATE FUNCTION hotpot_control.record_wal_lsn() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.wal_lsn := pg_current_wal_insert_lsn();
    RETURN NEW;
END
$$;

CREATE TRIGGER data_versions_wal_lsn BEFORE INSERT OR UPDATE ON hotpot_control.data_versions
    FOR EACH ROW EXECUTE FUNCTION hotpot_control.record_wal_lsn();
