-- 012_failover.sql — the dead-instance rule survives a PostgreSQL failover (CONTRACT §11).
-- unlocked_since: when a live instance first found this instance without its instance
-- lock (set by the observer with the server's now(); cleared by the instance itself at
-- every heartbeat). After a failover or restart every session is gone at once; an instance
-- that reconnects and locks again within sitemaild's reconnect grace (8 s from this mark)
-- keeps its claimed rows, whatever the new primary's start time, and a dead one's rows are
-- taken over once the mark is that old (replaces the pg_postmaster_start_time() rule of 005).
ALTER TABLE sitemail_instance ADD COLUMN IF NOT EXISTS unlocked_since timestamptz;
