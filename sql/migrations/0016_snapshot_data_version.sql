-- hotpot_lib.snapshot_data_version(): the calling tenant's data version as the caller's snapshot sees it.
-- A metric runs in a REPEATABLE READ transaction that asks this first, so the answer and the versions in
-- its meta come from one snapshot: the answer is exact for exactly the loads meta names, even while the
-- rollup worker commits a fold between the two. The tenant is the session's login role (a tenant's
-- metric connections log in as its role); SECURITY DEFINER because tenant roles cannot read
-- hotpot_control, and it returns no row for any other role.
CREATE FUNCTION hotpot_lib.snapshot_data_version()
RETURNS TABLE (version int8, as_of timestamptz, rollup_version int8, rolled_up_import_id int8,
               rolled_up_as_of timestamptz, pending_since timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT d.version, d.as_of, d.rollup_version, d.rolled_up_import_id, d.rolled_up_as_of, d.pending_since
    FROM hotpot_control.tenants AS t
    JOIN hotpot_control.data_versions AS d ON d.tenant_id = t.id
    WHERE t.role_name = session_user
$$;

GRANT EXECUTE ON FUNCTION hotpot_lib.snapshot_data_version() TO PUBLIC;
