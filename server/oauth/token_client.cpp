// token_client.cpp — see token_client.hpp.
#include "token_client.hpp"

namespace sitemail::oauth {

std::string grant_form(const EffectiveSettings& s, const OAuthPlan& plan, const std::string& grant_type,
                       const std::vector<std::pair<std::string, std::string>>& extra, bool with_scope) {
  std::string form;
  auto field = [&](const std::string& k, const std::string& v) { form += (form.empty() ? "" : "&") + k + "=" + form_escape(v); };
  if (!grant_type.empty()) field("grant_type", grant_type);
  field("client_id", s.text(Setting::OAuthClientId));
  if (!s.text(Setting::OAuthClientSecret).empty()) field("client_secret", s.text(Setting::OAuthClientSecret));
  for (const auto& [k, v] : extra) field(k, v);
  if (with_scope && !plan.scope.empty()) field("scope", plan.scope);
  return form;
}

asio::awaitable<GrantResult> post_grant(const asio::any_io_executor& ex, const EffectiveSettings& s, const smtp::TlsSetup& tls,
                                        const std::string& url, const std::string& form, bool need_token) {
  GrantResult out;
  auto http = co_await https_post(ex, s, tls, url, form);
  if (http.failure) {
    out.failure = std::move(http.failure);
    co_return out;
  }
  out.response = parse_token_response(http.body, http.status);
  auto fail = [&](std::string why) {
    out.failure = smtp::Failure{smtp::FailureKind::auth, smtp::Stage::auth, "token endpoint: " + std::move(why), {}, 0};
  };
  if (!out.response.ok()) {
    fail(describe_error(out.response));
  } else if (need_token && out.response.access_token.empty()) {
    fail("the response has no access_token (HTTP " + std::to_string(http.status) + ")");
  } else if (need_token && !out.response.token_type.empty() && out.response.token_type != "Bearer" &&
             out.response.token_type != "bearer") {
    fail("token_type " + smtp::sanitise(out.response.token_type, 40) + " is not Bearer");
  }
  co_return out;
}

}  // namespace sitemail::oauth
