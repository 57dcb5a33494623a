-- 005_instances.sql — live sitemaild instances, so the mail an instance had claimed is
-- taken over within seconds of its death, not when its lease runs out (CONTRACT §2).
-- Each instance registers here once, holds the session-level advisory lock
-- (1397312844, id) on its database connection while it lives, and beats a heartbeat;
-- claims record the instance in outbox.lease_instance. When the lock is gone (the session
-- ended: killed, crashed, host gone) and the heartbeat is older than
-- [delivery] dead_instance_grace, any live instance puts that instance's rows back in the
-- queue (not within 8 s of a PostgreSQL start, so live instances can reconnect first). The lease (lease_until) stays as the bound when PostgreSQL cannot tell.
CREATE TABLE IF NOT EXISTS sitemail_instance (
    id           serial PRIMARY KEY,
    owner        text NOT NULL,                       -- host:pid:nonce, as in outbox.lease_owner
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS lease_instance int;
-- Claims take each chosen site's oldest due rows: one index range scan per site.
CREATE INDEX IF NOT EXISTS outbox_site_due_idx ON outbox (nvtgc, next_attempt_at, id) WHERE status = 'queued';
