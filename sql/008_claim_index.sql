-- 008_claim_index.sql — the claim's window index, made usable by the window query alone.
-- A claim reads the oldest due rows through this index (the window), then each chosen
-- site's oldest rows through outbox_site_due_idx (nvtgc, next_attempt_at, id). With stale
-- statistics (a burst of new mail in a table the planner last saw full of sent rows, so
-- it thinks almost nothing is queued) PostgreSQL took this index for the per-site lookup
-- too and walked every queued row for each site: 120 ms instead of 5 ms per claim at
-- 5,000 sites. The extra predicate `id > 0` (always true) is named only by the window
-- query, so the per-site lookup cannot pick this index, whatever the statistics say.
DROP INDEX IF EXISTS outbox_queued_due_idx;
CREATE INDEX IF NOT EXISTS outbox_queued_due_idx ON outbox (next_attempt_at, id) WHERE status = 'queued' AND id > 0;
