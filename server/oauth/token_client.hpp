// token_client.hpp — one grant at a site's token endpoint (RFC 6749 §4.4 client
// credentials, §6 refresh token, RFC 8628 §3.4 device code): the form CONTRACT §7 fixes,
// sent with https_post, the answer parsed, errors worded `token endpoint: ERROR: DESCRIPTION`.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "https_post.hpp"
#include "oauth_preset.hpp"
#include "token_response.hpp"

namespace sitemail::oauth {

struct GrantResult {
  TokenResponse response;                // the parsed answer (access_token, refresh_token, expires_in, ...)
  std::optional<smtp::Failure> failure;  // transport failure, endpoint error or malformed answer
};

// grant_type plus extra fields (refresh_token, device_code); client_id, client_secret (when
// set) and scope (when the plan has one and `with_scope`) are added from the settings.
[[nodiscard]] std::string grant_form(const EffectiveSettings& s, const OAuthPlan& plan, const std::string& grant_type,
                                     const std::vector<std::pair<std::string, std::string>>& extra, bool with_scope = true);

// POSTs `form` to `url` and interprets the answer. `need_token`: a success must carry an
// access_token (token endpoint); false for the device authorization endpoint.
[[nodiscard]] asio::awaitable<GrantResult> post_grant(const asio::any_io_executor& ex, const EffectiveSettings& s,
                                                      const smtp::TlsSetup& tls, const std::string& url, const std::string& form,
                                                      bool need_token = true);

}  // namespace sitemail::oauth
