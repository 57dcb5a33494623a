// oauth_preset.cpp — see oauth_preset.hpp. The provider presets: Microsoft identity
// platform v2.0 endpoints per tenant, Google's OAuth 2.0 endpoints, and their SMTP scopes.
#include "oauth_preset.hpp"

#include "text_util.hpp"

namespace sitemail {

namespace {

constexpr const char* kMicrosoftDelegatedScope = "https://outlook.office.com/SMTP.Send offline_access";
constexpr const char* kMicrosoftAppScope = "https://outlook.office365.com/.default";
constexpr const char* kGoogleScope = "https://mail.google.com/";
constexpr const char* kGoogleTokenUrl = "https://oauth2.googleapis.com/token";
constexpr const char* kGoogleDeviceUrl = "https://oauth2.googleapis.com/device/code";

std::string microsoft_base(const EffectiveSettings& es) {
  std::string tenant = es.text(Setting::OAuthTenant);
  if (tenant.empty()) tenant = "organizations";
  return "https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/";
}

}  // namespace

bool is_https_url(const std::string& url) {
  return url.size() > 8 && iequals(std::string_view(url).substr(0, 8), "https://") && url[8] != '/';
}

OAuthPlan oauth_plan(const EffectiveSettings& es, bool delegated) {
  OAuthPlan p;
  const auto provider = static_cast<OAuthProvider>(es.number(Setting::OAuthProvider));
  const std::string provider_name(enum_name(def(Setting::OAuthProvider), es.number(Setting::OAuthProvider)));
  std::string preset_token, preset_device;
  if (provider == OAuthProvider::microsoft) {
    preset_token = microsoft_base(es) + "token";
    preset_device = microsoft_base(es) + "devicecode";
  } else if (provider == OAuthProvider::google) {
    preset_token = kGoogleTokenUrl;
    preset_device = kGoogleDeviceUrl;
  }
  const std::string why_preset =
      "implied by OAuthProvider " + provider_name +
      (provider == OAuthProvider::microsoft
           ? " (tenant " +
                 (es.text(Setting::OAuthTenant).empty() ? std::string("organizations") : es.text(Setting::OAuthTenant)) + ")"
           : std::string());
  if (!es.text(Setting::OAuthTokenUrl).empty()) {
    p.token_url = es.text(Setting::OAuthTokenUrl);
    p.token_url_why = "OAuthTokenUrl";
  } else if (!preset_token.empty()) {
    p.token_url = preset_token;
    p.token_url_why = why_preset;
  }
  p.device_url = !es.text(Setting::OAuthDeviceUrl).empty() ? es.text(Setting::OAuthDeviceUrl) : preset_device;
  p.enabled = !p.token_url.empty();
  p.refresh_grant = !es.text(Setting::OAuthRefreshToken).empty();
  const bool user_grant = p.refresh_grant || delegated;
  if (!es.text(Setting::OAuthScope).empty()) {
    p.scope = es.text(Setting::OAuthScope);
    p.scope_why = "OAuthScope";
  } else if (provider == OAuthProvider::microsoft) {
    p.scope = user_grant ? kMicrosoftDelegatedScope : kMicrosoftAppScope;
    p.scope_why = std::string("default of OAuthProvider microsoft for ") +
                  (user_grant ? "a refresh token (delegated SMTP.Send)" : "client credentials (the app's own permission)");
  } else if (provider == OAuthProvider::google) {
    p.scope = kGoogleScope;
    p.scope_why = "default of OAuthProvider google";
  }
  return p;
}

}  // namespace sitemail
