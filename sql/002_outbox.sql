-- 002_outbox.sql — one row per message to send (CONTRACT §2). Applications INSERT the
-- message fields; sitemail owns status, attempts, lease and outcome columns.
CREATE TABLE IF NOT EXISTS outbox (
    id              bigserial PRIMARY KEY,
    nvtgc           text NOT NULL,
    to_addrs        text,
    cc_addrs        text,
    bcc_addrs       text,
    from_addr       text,
    from_name       text,
    reply_to        text,
    subject         text,
    body_text       text,
    body_html       text,
    headers         text,
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    smtp_reply      text,
    message_id      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    -- bookkeeping owned by sitemaild
    lease_owner     text,          -- instance that claimed the row while status = 'sending'
    lease_until     timestamptz,   -- the claim expires here; another instance may take it
    done_rcpts      text           -- recipients already accepted (comma-separated), never sent again
);
CREATE INDEX IF NOT EXISTS outbox_due_idx ON outbox (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX IF NOT EXISTS outbox_site_status_idx ON outbox (nvtgc, status);
