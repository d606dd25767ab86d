-- Servers keep tenants' data versions and active metric/dashboard versions in memory and learn of
-- changes from NOTIFY, whichever process (server, CLI import, scheduler) made them. Triggers rather
-- than application code, so that no writer can forget. Notifications are delivered on commit only.
-- Payloads: data:<tenant id>:<version>, metrics:<tenant id>, dashboards:<tenant id>.
CREATE FUNCTION hotpot_control.notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed record := COALESCE(NEW, OLD);
BEGIN
    IF TG_ARGV[0] = 'data' THEN
        PERFORM pg_notify('hotpot_changes', 'data:' || changed.tenant_id || ':' || changed.version);
    ELSE
        PERFORM pg_notify('hotpot_changes', TG_ARGV[0] || ':' || changed.tenant_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER data_versions_notify AFTER INSERT OR UPDATE ON hotpot_control.data_versions
    FOR EACH ROW EXECUTE FUNCTION hotpot_control.notify_change('data');
CREATE TRIGGER metric_versions_notify AFTER INSERT OR UPDATE OR DELETE ON hotpot_control.metric_versions
    FOR EACH ROW EXECUTE FUNCTION hotpot_control.notify_change('metrics');
CREATE TRIGGER dashboard_versions_notify AFTER INSERT OR UPDATE OR DELETE ON hotpot_control.dashboard_versions
    FOR EACH ROW EXECUTE FUNCTION hotpot_control.notify_change('dashboards');
