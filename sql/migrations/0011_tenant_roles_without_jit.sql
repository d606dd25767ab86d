-- Metric queries read rollups in milliseconds, but their plans over 10M events cost enough for
-- PostgreSQL to JIT-compile them, which took 100-700 ms per query. New tenant roles get jit = off with
-- their other login settings (TenantStore.roleSettings); this gives it to the roles created before.
DO $$
DECLARE
    tenant record;
BEGIN
    FOR tenant IN SELECT role_name FROM hotpot_control.tenants LOOP
        EXECUTE format('ALTER ROLE %I SET jit = off', tenant.role_name);
    END LOOP;
END
$$;
