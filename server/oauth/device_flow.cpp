// device_flow.cpp — see device_flow.hpp.
#include "device_flow.hpp"

namespace sitemail::oauth {

namespace {

smtp::Failure login_failure(std::string why) {
  return smtp::Failure{smtp::FailureKind::auth, smtp::Stage::auth, std::move(why), {}, 0};
}

constexpr std::int64_t kDefaultInterval = 5;     // RFC 8628 §3.2
constexpr std::int64_t kDefaultExpiresIn = 900;  // when the device endpoint does not say

}  // namespace

asio::awaitable<DeviceLogin> device_login(const asio::any_io_executor& ex, const EffectiveSettings& s,
                                          const std::string& config_dir, const std::function<void(const TokenResponse&)>& show,
                                          const std::function<void(const std::string&)>& progress) {
  DeviceLogin out;
  const auto plan = oauth_plan(s, /*delegated=*/true);
  if (plan.device_url.empty() || plan.token_url.empty()) {
    out.failure = smtp::config_failure("oauth login needs a device authorization endpoint and a token endpoint: set "
                                       "OAuthProvider (microsoft or google), or OAuthDeviceUrl and OAuthTokenUrl");
    co_return out;
  }
  if (s.text(Setting::OAuthClientId).empty()) {
    out.failure = smtp::config_failure("oauth login needs OAuthClientId");
    co_return out;
  }
  auto tls = make_endpoint_tls(s, config_dir);
  const auto device_form = grant_form(s, plan, "", {});
  auto dev = co_await post_grant(ex, s, *tls, plan.device_url, device_form, /*need_token=*/false);
  if (dev.failure) {
    if (dev.failure->detail.starts_with("token endpoint"))  // the same request code words it for tokens
      dev.failure->detail.replace(0, 14, "device endpoint");
    out.failure = std::move(dev.failure);
    co_return out;
  }
  if (dev.response.device_code.empty() || dev.response.user_code.empty() ||
      (dev.response.verification_uri.empty() && dev.response.verification_uri_complete.empty())) {
    out.failure = login_failure("device endpoint: the response lacks device_code, user_code or verification_uri");
    co_return out;
  }
  show(dev.response);
  std::int64_t interval = dev.response.interval > 0 ? dev.response.interval : kDefaultInterval;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(dev.response.expires_in > 0 ? dev.response.expires_in : kDefaultExpiresIn);
  const auto form = grant_form(s, plan, "urn:ietf:params:oauth:grant-type:device_code",
                               {{"device_code", dev.response.device_code}}, /*with_scope=*/false);
  asio::steady_timer timer(ex);
  while (true) {
    if (std::chrono::steady_clock::now() + std::chrono::seconds(interval) > deadline) {
      out.failure = login_failure("token endpoint: expired_token: the user code expired before the login was approved");
      co_return out;
    }
    timer.expires_after(std::chrono::seconds(interval));
    co_await timer.async_wait(asio::use_awaitable);
    auto r = co_await post_grant(ex, s, *tls, plan.token_url, form);
    if (!r.failure) {
      if (r.response.refresh_token.empty()) {
        out.failure = login_failure("token endpoint: the login succeeded but no refresh_token was returned (ask for the "
                                    "offline_access scope)");
        co_return out;
      }
      out.tokens = std::move(r.response);
      co_return out;
    }
    const std::string& err = r.response.error;
    if (err == "authorization_pending") {
      progress(err);
      continue;
    }
    if (err == "slow_down") {
      interval += 5;  // RFC 8628 §3.5
      progress(err);
      continue;
    }
    out.failure = std::move(r.failure);  // access_denied, expired_token, invalid_client, transport failures
    co_return out;
  }
}

}  // namespace sitemail::oauth
