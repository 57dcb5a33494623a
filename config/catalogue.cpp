// catalogue.cpp — the one table of per-site settings (CONTRACT §4 plus the daemon's
// MaxConnections and MaxMessagesPerMinute). Defaults are written as an admin would.
#include "catalogue.hpp"

#include <stdexcept>

#include "text_util.hpp"

namespace sitemail {

namespace {

using VT = ValueType;

std::vector<SettingDef> build() {
  std::vector<SettingDef> t;
  auto add = [&](SettingDef d) { t.push_back(std::move(d)); };
  add({Setting::EMailSMTPServer, "EMailSMTPServer", {"Host", "MailServer"}, VT::host, "", false, true, 0, 0, {},
       "relay host name or IP address (required)"});
  add({Setting::EMailSMTPPort, "EMailSMTPPort", {"HostPort", "MailPort"}, VT::port, "25", false, false, 1, 65535, {},
       "relay port; suffix -ssl (implicit TLS), -starttls or -nossl sets the TLS mode and wins"});
  add({Setting::EMailSecure, "EMailSecure", {}, VT::boolean, "No", false, false, 0, 0, {},
       "Yes enables TLS according to SslStartMode"});
  add({Setting::SMTPUserID, "SMTPUserID", {"User"}, VT::text, "", false, false, 0, 0, {},
       "SMTP AUTH user; empty = no AUTH"});
  add({Setting::SMTPPassword, "SMTPPassword", {"Password"}, VT::text, "", true, false, 0, 0, {},
       "SMTP AUTH password (secret; env:NAME and file:PATH accepted)"});
  add({Setting::EMailFromAddress, "EMailFromAddress", {"From"}, VT::address, "", false, false, 0, 0, {},
       "envelope sender and From address unless the message sets one"});
  add({Setting::EMailFromName, "EMailFromName", {}, VT::text, "", false, false, 0, 0, {}, "From display name"});
  add({Setting::EMailNoAccountAddress, "EMailNoAccountAddress", {}, VT::address, "", false, false, 0, 0, {},
       "recipient used when a message has no To address"});
  add({Setting::AllowExtensions, "AllowExtensions", {}, VT::boolean, "true", false, false, 0, 0, {},
       "EHLO first, HELO if EHLO is refused; false = HELO only"});
  add({Setting::FullyQualifiedDomainName, "FullyQualifiedDomainName", {"Helo"}, VT::host, "", false, false, 0, 0, {},
       "EHLO/HELO argument; default the host FQDN, never localhost"});
  add({Setting::Timeout, "Timeout", {}, VT::seconds, "60", false, false, 0, 86400, {},
       "inactivity timeout per network operation, seconds; 0 = none"});
  add({Setting::SslStartMode, "SslStartMode", {}, VT::enumeration, "sslAutomatic", false, false, 0, 0,
       {{"sslAutomatic", 0, {}}, {"sslImplicit", 1, {}}, {"sslExplicit", 2, {}}, {"sslNone", 3, {}},
        {"sslOpportunistic", 4, {}}},
       "how TLS starts when EMailSecure is Yes: automatic by port, implicit, STARTTLS, none, opportunistic"});
  add({Setting::SslAcceptServerCert, "SslAcceptServerCert", {}, VT::cert_pin, "", false, false, 0, 0, {},
       "accept only this server certificate (PEM, base64 DER or SHA-256 fingerprint) instead of CA checks; * = any"});
  add({Setting::SslCaFile, "SslCaFile", {}, VT::path, "", false, false, 0, 0, {},
       "CA bundle used to verify relays; empty = the system store"});
  add({Setting::SslCertStoreType, "SslCertStoreType", {}, VT::enumeration, "sstUser", false, false, 0, 0,
       {{"sstUser", 0, {}}, {"sstMachine", 1, {}}, {"sstPFXFile", 2, {}}, {"sstPFXBlob", 3, {}},
        {"sstPEMKey", 4, {}}},
       "client certificate store type: PEM file, certs/<store>/ folder, PKCS#12 file, base64 PKCS#12, PEM"});
  add({Setting::SslCertStore, "SslCertStore", {}, VT::blob, "", false, false, 0, 0, {},
       "the client certificate store, per SslCertStoreType"});
  add({Setting::SslCertStorePassword, "SslCertStorePassword", {}, VT::text, "", true, false, 0, 0, {},
       "password of the client certificate store (secret)"});
  add({Setting::SslCertSubject, "SslCertSubject", {}, VT::text, "", false, false, 0, 0, {},
       "select the client certificate by subject: exact, else substring; * = first"});
  add({Setting::SslCertEncoded, "SslCertEncoded", {}, VT::blob, "", false, false, 0, 0, {},
       "select the client certificate by its PEM/base64 value; its key is found in the store"});
  add({Setting::FirewallType, "FirewallType", {}, VT::enumeration, "fwNone", false, false, 0, 0,
       {{"fwNone", 0, {}}, {"fwTunnel", 1, {}}, {"fwSOCKS4", 2, {}}, {"fwSOCKS5", 3, {}}, {"fwSOCKS4A", 10, {}}},
       "proxy type: none, HTTP CONNECT tunnel, SOCKS4, SOCKS5, SOCKS4A"});
  add({Setting::FirewallHost, "FirewallHost", {}, VT::host, "", false, false, 0, 0, {}, "proxy host"});
  add({Setting::FirewallPort, "FirewallPort", {}, VT::port, "0", false, false, 0, 65535, {},
       "proxy port; 0 = 80 for fwTunnel, 1080 for SOCKS"});
  add({Setting::FirewallUser, "FirewallUser", {}, VT::text, "", false, false, 0, 0, {}, "proxy user"});
  add({Setting::FirewallPassword, "FirewallPassword", {}, VT::text, "", true, false, 0, 0, {},
       "proxy password (secret)"});
  add({Setting::AuthMethod, "AuthMethod", {"LoginMethod", "AuthMechanism"}, VT::enumeration, "Auto", false, false,
       0, 0,
       {{"Auto", 0, {}},
        {"NoLoginMethod", 1, {"None"}},
        {"LoginPlainMethod", 2, {"PLAIN", "amSASLPlain"}},
        {"AuthLoginMethod", 3, {"LOGIN", "amUserPassword"}},
        {"CramMD5Method", 4, {"CRAM-MD5", "amCRAMMD5"}},
        {"NTLM", 5, {"amNTLM", "NTLMv2"}},
        {"XOAUTH2", 6, {"amXOAUTH2"}}},
       "SMTP AUTH mechanism; Auto = strongest offered, never a clear password without TLS"});
  add({Setting::OAuthToken, "OAuthToken", {}, VT::text, "", true, false, 0, 0, {},
       "bearer token for XOAUTH2 (secret)"});
  add({Setting::OtherHeaders, "OtherHeaders", {}, VT::headers, "", false, false, 0, 0, {},
       "extra `Name: value` lines for every message; a leading empty line replaces the computed headers"});
  add({Setting::MaxSubjectLength, "MaxSubjectLength", {}, VT::count, "0", false, false, 0, 100000, {},
       "truncate longer subjects to this many characters; 0 = no limit"});
  add({Setting::MaxConnections, "MaxConnections", {}, VT::count, "2", false, false, 1, 100, {},
       "concurrent SMTP connections to this site's relay"});
  add({Setting::MaxMessagesPerMinute, "MaxMessagesPerMinute", {}, VT::count, "0", false, false, 0, 1000000, {},
       "rate limit for this site; 0 = unlimited"});
  for (std::size_t i = 0; i < t.size(); ++i)
    if (static_cast<std::size_t>(t[i].id) != i) throw std::logic_error("catalogue order differs from enum Setting");
  return t;
}

}  // namespace

const std::vector<SettingDef>& catalogue() {
  static const std::vector<SettingDef> table = build();
  return table;
}

const SettingDef& def(Setting s) { return catalogue()[static_cast<std::size_t>(s)]; }

std::optional<Setting> find_setting(std::string_view name) {
  name = trim(name);
  for (const auto& d : catalogue()) {
    if (iequals(d.name, name)) return d.id;
    for (auto a : d.aliases)
      if (iequals(a, name)) return d.id;
  }
  return std::nullopt;
}

std::vector<std::string_view> all_setting_names() {
  std::vector<std::string_view> out;
  for (const auto& d : catalogue()) {
    out.push_back(d.name);
    for (auto a : d.aliases) out.push_back(a);
  }
  return out;
}

std::string_view type_name(ValueType t) {
  switch (t) {
    case VT::host: return "host";
    case VT::port: return "port";
    case VT::boolean: return "boolean";
    case VT::enumeration: return "enum";
    case VT::seconds: return "seconds";
    case VT::count: return "count";
    case VT::address: return "address";
    case VT::text: return "text";
    case VT::blob: return "text (multi-line)";
    case VT::headers: return "header lines";
    case VT::cert_pin: return "certificate";
    case VT::path: return "file";
  }
  return "?";
}

}  // namespace sitemail
