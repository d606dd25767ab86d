-- Months (UTC) of the new events that have no partition yet, within the range partitions are made for.
SELECT DISTINCT date_trunc('month', occurred_at, 'UTC') AS month
FROM rollup_source
WHERE occurred_at >= '2000-01-01T00:00:00Z' AND occurred_at < '2100-01-01T00:00:00Z'
ORDER BY 1
