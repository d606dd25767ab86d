-- Close the built-in doors that break tenant isolation or read-only execution (see
-- docs/tenant-isolation.md). Revoked from PUBLIC by name, every overload; the service role is the owner
-- and keeps them.
DO $$
DECLARE
    fn regprocedure;
BEGIN
    FOR fn IN
        SELECT p.oid::regprocedure
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'pg_catalog'
          AND (p.proname IN (
                'set_config',
                'query_to_xml', 'query_to_xml_and_xmlschema', 'query_to_xmlschema',
                'cursor_to_xml', 'cursor_to_xmlschema',
                'table_to_xml', 'table_to_xml_and_xmlschema', 'table_to_xmlschema',
                'schema_to_xml', 'schema_to_xml_and_xmlschema', 'schema_to_xmlschema',
                'database_to_xml', 'database_to_xml_and_xmlschema', 'database_to_xmlschema',
                'ts_stat', 'ts_rewrite',
                'pg_notify',
                'pg_cancel_backend', 'pg_terminate_backend',
                'txid_current', 'txid_current_if_assigned', 'pg_current_xact_id', 'pg_current_xact_id_if_assigned',
                'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file',
                'dblink', 'lo_import', 'lo_export')
               OR p.proname LIKE 'pg\_advisory\_%'
               OR p.proname LIKE 'pg\_try\_advisory\_%'
               OR p.proname LIKE 'lo\_%'
               OR p.proname IN ('loread', 'lowrite'))
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', fn);
    END LOOP;
END
$$;

-- Functions the service creates later are not callable by tenants unless granted explicitly.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON ROUTINES FROM PUBLIC;

-- Nobody but the service creates objects in public (CVE-2018-1058).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA hotpot_control FROM PUBLIC;

-- Tenants see other sessions' queries in pg_stat_activity only for their own role; keep it that way
-- and hide server-wide settings files.
REVOKE ALL ON pg_catalog.pg_file_settings FROM PUBLIC;

-- Tenants cannot create temporary tables in Hotpot's database.
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END
$$;
