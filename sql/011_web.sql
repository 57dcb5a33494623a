-- 011_web.sql — accounts of the web console (CONTRACT §10, `sitemailctl web ...`): a role
-- (admin: every site, the default site's keys, reload; site: only the listed sites) and
-- the password as a slow salted hash (server/accounts/password_hash.*), never the password.
-- Sessions live in the memory of the sitemaild that serves the console.
CREATE TABLE IF NOT EXISTS web_account (
    username      text PRIMARY KEY,
    role          text NOT NULL CHECK (role IN ('admin', 'site')),
    sites         text NOT NULL DEFAULT '',  -- comma-separated site codes (role site)
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    changed_at    timestamptz NOT NULL DEFAULT now()
);
