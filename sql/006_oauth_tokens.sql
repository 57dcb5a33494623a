-- 006_oauth_tokens.sql — refresh tokens rotated by an OAuth 2.0 token endpoint (CONTRACT §7).
-- One row per grant chain: `configured_sha256` is SHA-256 of the token URL, the client id and
-- the configured OAuthRefreshToken, so the stored token is used by every instance (and every
-- site sharing that configured value) until the admin changes the configured value.
CREATE TABLE IF NOT EXISTS oauth_refresh_tokens (
  configured_sha256 text PRIMARY KEY,
  nvtgc text NOT NULL,            -- the site whose request received the token (for the admin)
  refresh_token text NOT NULL,    -- secret: never printed by sitemail
  updated_at timestamptz NOT NULL DEFAULT now()
);
