-- 010_submission.sql — the SMTP submission door (CONTRACT §9): accounts (a user name, its
-- site, a scrypt hash from server/accounts/password_hash.*), trusted networks (clients from
-- a CIDR submit for a site without AUTH), and what the per-hour limits count: every row the
-- door queued names its principal in outbox.submitted_by ('user:NAME' or 'net:CIDR').
CREATE TABLE IF NOT EXISTS submission_account (
    username      text PRIMARY KEY,
    nvtgc         text NOT NULL,
    password_hash text NOT NULL,
    senders       text NOT NULL DEFAULT '',   -- comma-separated patterns; empty = any sender
    max_per_hour  integer NOT NULL DEFAULT 0, -- accepted messages per rolling hour; 0 = no limit
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS submission_network (
    cidr          cidr PRIMARY KEY,
    nvtgc         text NOT NULL,
    senders       text NOT NULL DEFAULT '',
    max_per_hour  integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS submitted_by text;
CREATE INDEX IF NOT EXISTS outbox_submitted_by_idx ON outbox (submitted_by, created_at) WHERE submitted_by IS NOT NULL;
