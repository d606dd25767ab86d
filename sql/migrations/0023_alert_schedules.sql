-- Alert rules with a schedule (a cron in the tenant's zone) are evaluated at each tick as well as when the
-- data changes: the next tick is kept with the rule's evaluation row (docs/alerts.md).
ALTER TABLE hotpot_control.alert_evaluations ADD COLUMN next_run_at timestamptz;
