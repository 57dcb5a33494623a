// device_flow.hpp — OAuth 2.0 device authorization grant (RFC 8628) for `sitemailctl
// oauth login`: ask the device endpoint for a user code, show where to enter it, poll the
// token endpoint at the given interval (slower on slow_down) until the user approves,
// denies, or the code expires.
#pragma once
#include <functional>

#include "token_client.hpp"

namespace sitemail::oauth {

struct DeviceLogin {
  std::optional<smtp::Failure> failure;
  TokenResponse tokens;  // on success: access_token, refresh_token, expires_in
};

// `show` is called once with the device authorization response (verification URI, user code).
// `progress` is called with each pending poll's error (authorization_pending, slow_down).
[[nodiscard]] asio::awaitable<DeviceLogin> device_login(const asio::any_io_executor& ex, const EffectiveSettings& s,
                                                        const std::string& config_dir,
                                                        const std::function<void(const TokenResponse&)>& show,
                                                        const std::function<void(const std::string&)>& progress);

}  // namespace sitemail::oauth
