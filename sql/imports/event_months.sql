-- Months (UTC) of the staged events that have no partition yet, within the range partitions are made
-- for. Over every staged row, duplicates included: a month that gets none of them only gains an empty
-- partition.
SELECT DISTINCT date_trunc('month', occurred_at, 'UTC') AS month
FROM import_events
WHERE occurred_at >= '2000-01-01T00:00:00Z' AND occurred_at < '2100-01-01T00:00:00Z'
ORDER BY 1
