// connection_route.cpp — see connection_route.hpp.
#include "connection_route.hpp"

#include "oauth_preset.hpp"

namespace sitemail {

bool message_only(Setting s) {
  switch (s) {
    case Setting::EMailFromAddress:
    case Setting::EMailFromName:
    case Setting::EMailNoAccountAddress:
    case Setting::OtherHeaders:
    case Setting::MaxSubjectLength:
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
  return out;
}

}  // namespace sitemail
