-- Rollups are declared in sql/rollups/manifest.yaml from now on, each in one file holding its tables and
-- steps; Hotpot creates and rebuilds them from there (Rollups.sync) right after the tenant migrations.
-- The tables the migrations before this one created are dropped, to be created and filled again from the
-- manifest: derived data, rebuilt from the stored events, notes, users and tags.
DROP TABLE IF EXISTS note_daily, note_hourly, traffic_daily, user_daily, user_first_seen, user_variant_daily,
    dwell_histogram, daily_users, variant_user_days, user_weeks, cohort_weeks, audience_days, note_cumulative,
    dwell_type_daily, tag_daily, tag_note_days, note_first_day, new_user_segment_days, new_user_segment_totals,
    new_user_segment_users, event_range, tag_quality_days;
