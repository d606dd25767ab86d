-- What a tenant may read, for GET /v1/schema (the analyst's workbench). Tenant roles cannot read the
-- catalogs (0014_catalog_privacy.sql), so these SECURITY DEFINER functions read them on the caller's
-- behalf and return only what the session's login role (the tenant) has the privilege to read or
-- call: the listing can never show a relation the tenant cannot query.

-- Every column of every table and view the caller may SELECT (partitions folded into their parent),
-- with the relation's estimated rows (from its statistics; the parent's is the sum of its partitions').
CREATE FUNCTION hotpot_lib.readable_columns()
RETURNS TABLE (relation text, kind text, estimated_rows double precision, column_name text, data_type text, column_position integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT c.relname::text,
           CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'view' ELSE 'table' END,
           CASE WHEN c.relkind = 'p' THEN
                    (SELECT coalesce(sum(greatest(p.reltuples, 0)), 0) FROM pg_inherits AS i JOIN pg_class AS p ON p.oid = i.inhrelid WHERE i.inhparent = c.oid)
                ELSE greatest(c.reltuples, 0)::float8 END,
           a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnum::int
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p', 'v', 'm')
      AND NOT c.relispartition
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'hotpot_control', 'hotpot_lib')
      AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast%'
      AND has_schema_privilege(session_user, n.oid, 'USAGE')
      AND has_table_privilege(session_user, c.oid, 'SELECT')
    ORDER BY 1, a.attnum
$$;

-- The hotpot_lib functions the caller may call, with their arguments and results.
CREATE FUNCTION hotpot_lib.callable_functions()
RETURNS TABLE (name text, arguments text, result text, description text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT p.proname::text, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), obj_description(p.oid, 'pg_proc')
    FROM pg_proc AS p
    JOIN pg_namespace AS n ON n.oid = p.pronamespace
    WHERE n.nspname = 'hotpot_lib'
      AND p.proname NOT IN ('readable_columns', 'callable_functions', 'snapshot_data_version')
      AND has_function_privilege(session_user, p.oid, 'EXECUTE')
    ORDER BY 1, 2
$$;

GRANT EXECUTE ON FUNCTION hotpot_lib.readable_columns() TO PUBLIC;
GRANT EXECUTE ON FUNCTION hotpot_lib.callable_functions() TO PUBLIC;
