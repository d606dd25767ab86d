-- Tenants cannot read other tenants' names, sizes or activity from the shared catalogs and statistics
-- (see docs/tenant-isolation.md). Out of the box every role may read pg_catalog: pg_stat_all_tables and
-- pg_statio_* give any table's exact row counts and I/O, pg_class its reltuples and pages, pg_namespace,
-- pg_roles and pg_database every tenant's schema, role and database, pg_db_role_setting every tenant's
-- login settings, pg_stat_activity and pg_locks who is connected and what they touch; and the functions
-- behind them (pg_stat_get_*(oid), pg_relation_size(oid), ...) take oids, which are easy to guess.
--
-- A tenant's metric SQL reads only its own tables and needs none of this: the parser, planner, regclass
-- casts and every internal lookup read the catalogs without privilege checks, and PostgresNIO queries
-- no catalog when it connects. Views owned by the bootstrap superuser read the catalogs with their
-- owner's rights, so information_schema (which shows only objects the caller has privileges on) still
-- works for a tenant's own tables.
--
-- Privileges on pg_catalog objects are per database, so this covers Hotpot's database (the only one the
-- tenant pools connect to). The service role is a superuser and bypasses these privileges, so nothing is
-- granted back: migrations, imports, rollups and tenant provisioning (pg_inherits, pg_class.reltuples,
-- pg_stat_activity, pg_timezone_names) are unaffected.
--
-- What tenants lose: psql's \d and similar tools (they read pg_class and friends), and in
-- information_schema only check_constraints and views.view_definition (they call pg_get_constraintdef
-- and pg_get_viewdef). Not closed, because privileges cannot close it: the output of the reg* types
-- (12345::oid::regclass::text, ::regnamespace, ::regrole) names any object by oid without a privilege
-- check, so names (not sizes or activity) can still be enumerated. That is why schemas and roles are
-- opaque ids.

-- Every catalog table and system view in pg_catalog, except a few that show only the caller's own
-- session or fixed data: pg_settings (this session's settings, as current_setting() gives them),
-- pg_timezone_names and pg_timezone_abbrevs, pg_cursors and pg_prepared_statements (this session's).
-- Revoking a table privilege also revokes the column privileges (pg_subscription has some).
DO $$
DECLARE
    rel record;
BEGIN
    FOR rel IN
        SELECT c.relname
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'pg_catalog'
          AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
          AND c.relname NOT IN ('pg_settings', 'pg_timezone_names', 'pg_timezone_abbrevs', 'pg_cursors', 'pg_prepared_statements')
    LOOP
        EXECUTE format('REVOKE ALL ON TABLE pg_catalog.%I FROM PUBLIC', rel.relname);
    END LOOP;
END
$$;

-- The functions that give the same facts by oid or by name, by name, every overload:
--   statistics: pg_stat_* (pg_stat_get_live_tuples(oid), pg_stat_get_activity, pg_stat_get_db_*, ...);
--   sizes and storage: pg_relation_size, pg_total_relation_size, pg_table_size, pg_indexes_size,
--     pg_database_size, pg_tablespace_size, pg_relation_filenode/filepath, pg_filenode_relation;
--   sessions and locks: pg_lock_status, pg_blocking_pids, pg_prepared_xact;
--   partitions (their names carry the months a tenant has data for): pg_partition_tree/ancestors/root;
--   definitions and names by oid: pg_get_*def, pg_get_function_*, pg_get_userbyid, pg_identify_object...;
--   server-wide write activity: WAL positions, the transaction counter (pg_current_snapshot,
--     pg_control_*, age(xid), mxid_age), commit status and timestamps, the notification queue;
--   directory listings (pg_ls_*; most are already restricted).
-- pg_get_expr is left alone: its argument can only come from a catalog column, and information_schema
-- uses it. has_*_privilege and pg_table_is_visible stay too (information_schema uses them); they only
-- answer yes or no.
DO $$
DECLARE
    fn regprocedure;
BEGIN
    FOR fn IN
        SELECT p.oid::regprocedure
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'pg_catalog'
          AND (p.proname LIKE 'pg\_stat\_%'
               OR p.proname LIKE 'pg\_ls\_%'
               OR p.proname LIKE 'pg\_control\_%'
               OR p.proname IN (
                'pg_relation_size', 'pg_total_relation_size', 'pg_table_size', 'pg_indexes_size',
                'pg_database_size', 'pg_tablespace_size', 'pg_tablespace_databases',
                'pg_relation_filenode', 'pg_relation_filepath', 'pg_filenode_relation',
                'pg_lock_status', 'pg_blocking_pids', 'pg_safe_snapshot_blocking_pids',
                'pg_isolation_test_session_is_blocked', 'pg_prepared_xact',
                'pg_partition_tree', 'pg_partition_ancestors', 'pg_partition_root',
                'pg_get_viewdef', 'pg_get_ruledef', 'pg_get_indexdef', 'pg_get_constraintdef',
                'pg_get_triggerdef', 'pg_get_functiondef', 'pg_get_function_arguments',
                'pg_get_function_identity_arguments', 'pg_get_function_result',
                'pg_get_function_arg_default', 'pg_get_function_sqlbody', 'pg_get_partkeydef',
                'pg_get_partition_constraintdef', 'pg_get_statisticsobjdef',
                'pg_get_statisticsobjdef_columns', 'pg_get_statisticsobjdef_expressions',
                'pg_get_serial_sequence', 'pg_get_replica_identity_index', 'pg_get_publication_tables',
                'pg_get_userbyid', 'pg_get_object_address', 'pg_identify_object',
                'pg_identify_object_as_address', 'pg_describe_object',
                'obj_description', 'col_description', 'shobj_description',
                'pg_current_wal_lsn', 'pg_current_wal_insert_lsn', 'pg_current_wal_flush_lsn',
                'pg_last_wal_receive_lsn', 'pg_last_wal_replay_lsn', 'pg_last_xact_replay_timestamp',
                'pg_current_snapshot', 'txid_current_snapshot', 'pg_xact_status', 'txid_status',
                'pg_xact_commit_timestamp', 'pg_xact_commit_timestamp_origin', 'pg_last_committed_xact',
                'pg_get_multixact_members', 'mxid_age', 'pg_notification_queue_usage')
               -- age(xid) reads the transaction counter; age(timestamp...) stays.
               OR (p.proname = 'age' AND p.pronargs = 1 AND p.proargtypes[0] = 'pg_catalog.xid'::pg_catalog.regtype))
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', fn);
    END LOOP;
END
$$;
