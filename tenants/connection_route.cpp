// connection_route.cpp — see connection_route.hpp.
#include "connection_route.hpp"

#include <openssl/evp.h>

#include "oauth_preset.hpp"

namespace sitemail {

bool message_only(Setting s) {
  switch (s) {
    case Setting::EMailFromAddress:
    case Setting::EMailFromName:
    case Setting::EMailNoAccountAddress:
    case Setting::OtherHeaders:
    case Setting::MaxSubjectLength:
    case Setting::MaxMessageSize:
      return true;
    default:
      return false;
  }
}

namespace {
void field(std::string& out, std::string_view v) {  // length-prefixed: no two inputs give one string
  out += std::to_string(v.size());
  out += ':';
  out += v;
}
}  // namespace

std::string connection_route(const EffectiveSettings& s) {
  std::string out;
  const bool own = oauth_plan(s).enabled || s.number(Setting::MaxMessagesPerMinute) > 0;
  field(out, own ? s.site : std::string());
  for (std::size_t i = 0; i < kSettingCount; ++i) {
    const auto id = static_cast<Setting>(i);
    if (message_only(id)) continue;
    const auto& r = s.at(id);
    field(out, r.value.text);  // every part of the typed value
    field(out, std::to_string(r.value.number));
    field(out, std::to_string(static_cast<int>(r.value.port_tls)));
    field(out, r.value.indirection);
    field(out, r.confine_to);  // file names in it resolve beneath the site's own folder
  }
  field(out, tls_mode_name(s.tls));
  field(out, std::to_string(s.port));
  field(out, std::to_string(s.firewall_port));
  field(out, s.helo);
  // Kept as its SHA-256: 64 characters per site instead of every value (10,000 sites), and
  // no secret sits in the route.
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(out.data(), out.size(), md, &n, EVP_sha256(), nullptr) != 1) return out;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * n);
  for (unsigned int i = 0; i < n; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 15];
  }
  return hex;
}

}  // namespace sitemail
