// oauth_preset.hpp — what a site's OAuth settings imply (CONTRACT §7): the token and
// device endpoints (set explicitly, or from the OAuthProvider preset and OAuthTenant), the
// scope to request and the grant. Pure functions of the effective settings, shared by the
// derived rules (`check`, `show --explain`), the daemon and `sitemailctl oauth`.
#pragma once
#include <string>

#include "effective_settings.hpp"

namespace sitemail {

struct OAuthPlan {
  bool enabled = false;        // a token endpoint is used: tokens are obtained automatically
  std::string token_url;       // effective token endpoint ("" when none)
  std::string device_url;      // effective device authorization endpoint ("" when none)
  std::string token_url_why;   // "OAuthTokenUrl" or "implied by OAuthProvider microsoft (tenant contoso)"
  bool refresh_grant = false;  // a refresh token is configured: grant_type=refresh_token
  std::string scope;           // scope sent with the grant
  std::string scope_why;       // "OAuthScope" or "default of OAuthProvider microsoft for client credentials"
};

// The plan for the grant delivery uses. `delegated` asks for the scope of a user's
// (refresh-token / device login) grant even when no refresh token is configured yet.
[[nodiscard]] OAuthPlan oauth_plan(const EffectiveSettings& es, bool delegated = false);

// true for `https://host...` (case-insensitive scheme, a host after it).
[[nodiscard]] bool is_https_url(const std::string& url);

}  // namespace sitemail
