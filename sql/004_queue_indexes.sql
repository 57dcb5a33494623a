-- 004_queue_indexes.sql — indexes shaped like the daemon's queries: claims walk queued rows
-- in (next_attempt_at, id) order and stop at the batch size; expired leases are found
-- separately through their own small index.
DROP INDEX IF EXISTS outbox_due_idx;
CREATE INDEX IF NOT EXISTS outbox_queued_due_idx ON outbox (next_attempt_at, id) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS outbox_lease_idx ON outbox (lease_until) WHERE status = 'sending';
