-- Empties every rollup before a full rebuild from the events table.
TRUNCATE note_daily, note_hourly, traffic_daily, user_daily, user_first_seen, user_variant_daily, dwell_histogram, daily_users, variant_user_days, user_weeks, cohort_weeks, audience_days, note_cumulative, dwell_type_daily, tag_daily, tag_note_days, note_first_day
