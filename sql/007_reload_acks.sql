-- 007_reload_acks.sql — `sitemailctl reload` asks every running sitemaild to reload
-- (NOTIFY sitemail_reload with a request id as payload); each daemon that reloads writes
-- one row here, so the admin tool can say how many acknowledged. Old rows are pruned by
-- the daemons. Also an index for the retention purge of finished mail.
CREATE TABLE IF NOT EXISTS reload_ack (
    request_id text NOT NULL,
    instance   text NOT NULL,          -- the daemon's lease owner name (host:pid:...)
    acked_at   timestamptz NOT NULL DEFAULT now(),
    result     text NOT NULL,          -- ok | failed
    detail     text,                   -- site counts, or why the reload failed
    PRIMARY KEY (request_id, instance)
);
CREATE INDEX IF NOT EXISTS outbox_finished_idx ON outbox (created_at) WHERE status IN ('sent', 'failed', 'cancelled');
